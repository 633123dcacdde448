"""Rendering helpers without a browser: errors, JSON trees, durations, copy-as-curl."""

from __future__ import annotations

import json
import shlex

from pitstop.dashboard import jsonview
from pitstop.dashboard.pages import curl_command, error_parts
from pitstop.dashboard.render import duration
from pitstop.models import Job, JobStatus


def test_errors_of_both_runpod_shapes_split_into_message_and_traceback() -> None:
    raised = json.dumps(
        {
            "error_type": "<class 'ValueError'>",
            "error_message": "bad input",
            "error_traceback": "Traceback (most recent call last):\n  ...\nValueError: bad input\n",
        }
    )
    assert error_parts(raised) == {
        "message": "ValueError: bad input",
        "traceback": "Traceback (most recent call last):\n  ...\nValueError: bad input\n",
    }
    generator = "handler: boom \ntraceback: Traceback ...\nKeyError: boom\n"
    assert error_parts(generator) == {
        "message": "boom",
        "traceback": "Traceback ...\nKeyError: boom\n",
    }
    assert error_parts("plain text") == {"message": "plain text", "traceback": ""}
    assert error_parts(None) is None


def test_json_tree_escapes_and_cuts_large_values() -> None:
    html, cut = jsonview.render({"<b>": "<script>x</script>", "n": [1, 2.5, True, None]})
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;" in html
    assert not cut and "<details open>" in html
    html, cut = jsonview.render({"text": "y" * 10_000, "items": list(range(500))})
    assert cut and "9,600 more characters" in html and "400 more items" in html
    assert html.count("y") < 1000


def test_durations_read_naturally() -> None:
    assert [duration(v) for v in (None, 85, 3200, 243_000, 7_500_000)] == [
        "—",
        "85 ms",
        "3.2 s",
        "4 min 3 s",
        "2 h 5 min",
    ]


def test_copy_as_curl_resubmits_the_same_input_with_the_key_from_the_shell() -> None:
    job = Job(id="j1", endpoint="my ep", status=JobStatus.COMPLETED, input={"q": "it's"})
    command = curl_command("http://127.0.0.1:8000/", job)
    parts = shlex.split(command.replace("\\\n", " "))
    assert parts[:3] == ["curl", "-X", "POST"]
    assert parts[3] == "http://127.0.0.1:8000/v2/my%20ep/run"
    assert json.loads(parts[parts.index("-d") + 1]) == {"input": {"q": "it's"}}
    assert "Authorization: Bearer $PITSTOP_API_KEY" in parts
