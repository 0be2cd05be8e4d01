"""Images for the screen: a 28x28 digit enlarged without the browser blurring it, or inlined in HTML."""
import base64
import io

import numpy as np
from PIL import Image


def enlarge(image, scale):
    """``image`` enlarged ``scale`` times by nearest neighbour, as uint8 0-255.

    Accepts a 2-D uint8 (or other integer) image in 0-255 or a float image in [0, 1]; values out
    of range are clipped to it. A trailing channel axis of size 1 is dropped.
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim != 2:
        raise ValueError(f"Expected a 2-D image (height, width), got shape {image.shape}.")
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"Expected scale as a whole number of at least 1, got {scale!r}.")
    if np.issubdtype(image.dtype, np.floating):
        image = np.round(np.clip(image, 0, 1) * 255)
    elif not np.issubdtype(image.dtype, np.integer):
        raise ValueError(f"Expected uint8 0-255 or float [0, 1] pixels, got dtype {image.dtype}.")
    pixels = np.clip(image, 0, 255).astype(np.uint8)
    return pixels.repeat(scale, axis=0).repeat(scale, axis=1)


def png_data_url(image):
    """A uint8 image (height x width grey, or with 3 or 4 channels) as a PNG data URL, for inline HTML."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="PNG")
    return png_data_url_of_bytes(buffer.getvalue())


def png_data_url_of_bytes(png):
    """PNG bytes as a data URL, for inline HTML."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def digit_as_canvas(image, canvas_size=280):
    """A 28x28 digit as the Draw page's canvas would send it (white ink on black, RGBA uint8 ``canvas_size`` square),
    so a digit picked instead of drawn goes through the same reading, explanations and way in."""
    grey = enlarge(image, canvas_size // 28)
    pad = canvas_size - grey.shape[0]
    grey = np.pad(grey, ((pad // 2, pad - pad // 2), (pad // 2, pad - pad // 2)))
    return np.dstack([grey, grey, grey, np.full_like(grey, 255)])
