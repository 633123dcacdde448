"""``runpod.serverless.utils.rp_download``: re-exported from :mod:`pitstop.serverless.utils.download`."""

from pitstop.serverless.utils.download import download_files_from_urls, file

__all__ = ["download_files_from_urls", "file"]
