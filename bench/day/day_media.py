"""What the day's technicians upload: phone-sized photos and a drawn signature (Pillow only, no
locust: ``bench/day_pages.py`` uses them too, and importing locust would patch its sockets)."""

import base64
import io
import random


def photo_jpeg(seed: int = 7, size=(1280, 960)) -> bytes:
    """A phone-sized JPEG with some detail in it (a flat picture would compress to nothing)."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", size, (200, 210, 220))
    draw = ImageDraw.Draw(image)
    for _ in range(400):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.rectangle([x, y, x + rng.randrange(10, 120), y + rng.randrange(10, 90)],
                       fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def signature_data_url() -> str:
    """A signature as the completion form's canvas posts it (a PNG data URL)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(10, 80), (80, 20), (150, 70), (290, 30)], fill=(0, 0, 0, 255), width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
