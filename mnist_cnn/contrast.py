"""WCAG 2.1 colour contrast: relative luminance, contrast ratio, and the readable text colour on a background."""
import re

AA_TEXT_CONTRAST = 4.5  # WCAG 2.1 AA, normal-size text
DARK_TEXT, LIGHT_TEXT = "#111827", "#ffffff"
BLACK = "#000000"


def rgb(colour):
    """``(r, g, b)`` 0-255 of ``#rrggbb`` or ``rgb(r, g, b)`` / ``rgba(...)`` (alpha ignored)."""
    colour = colour.strip()
    if colour.startswith("#") and len(colour) == 7:
        return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    numbers = re.findall(r"[\d.]+", colour)
    if colour.startswith("rgb") and len(numbers) >= 3:
        return tuple(round(float(number)) for number in numbers[:3])
    raise ValueError(f"Not a colour this module reads: {colour!r}")


def relative_luminance(colour):
    def linear(channel):
        channel /= 255
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = map(linear, rgb(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(foreground, background):
    lighter, darker = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def readable_text_colour(background):
    """Black or white text, whichever contrasts more with ``background``: one of them always reaches 4.58:1
    (on a mid red, #111827 and white both stay under 4.5:1)."""
    return max((BLACK, LIGHT_TEXT), key=lambda text: contrast_ratio(text, background))
