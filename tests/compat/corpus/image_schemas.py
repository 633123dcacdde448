"""Input schema of the image worker (kept in its own module, as image workers do)."""

INPUT_SCHEMA = {
    "prompt": {"type": str, "required": False},
    "negative_prompt": {"type": str, "required": False, "default": None},
    "height": {"type": int, "required": False, "default": 64},
    "width": {"type": int, "required": False, "default": 64},
    "seed": {"type": int, "required": False, "default": None},
    "guidance_scale": {"type": float, "required": False, "default": 7.5},
    "image_url": {"type": str, "required": False, "default": None},
    "num_images": {
        "type": int,
        "required": False,
        "default": 1,
        "constraints": lambda img_count: 3 > img_count > 0,
    },
}
