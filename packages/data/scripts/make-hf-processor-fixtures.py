"""Golden values for ImageProcessor: Hugging Face's PIL-based image processors, step by step.

transformers is not installed here, so this script redoes what the slow (PIL) HF processors do,
written from their sources (transformers `image_processing_utils.get_size_dict`,
`image_transforms.get_resize_output_image_size` / `resize` / `center_crop` / `rescale` /
`normalize`, and `models/{clip,vit,blip,siglip,vilt}/image_processing_*.py`), with PIL and numpy:

  1. `size` read as the class reads it (CLIP/SigLIP/ViLT: a bare number is a shortest edge;
     ViT/BLIP: a square), output size as HF computes it (ViLT: its own rule, multiples of size_divisor);
  2. PIL `Image.resize((w, h), resample)` on the 8-bit RGB image (HF converts to PIL for this);
  3. HF's numpy `center_crop`, zero-padding when the crop is larger;
  4. `rescale`: float64 multiply, cast to float32;  5. `normalize`: float32 `(x - mean) / std`;
  6. ViLT only: zero-pad the batch at the bottom/right to the largest image, `pixel_mask`.

Run from packages/data:  /usr/bin/python3 scripts/make-hf-processor-fixtures.py
Writes fixtures/hf-image-processor.json (pixels as base64: uint8 images, float32 CHW outputs).
"""
import base64
import json
import math
import os

import numpy as np
import PIL
from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "hf-image-processor.json")
OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
IMAGENET_DEFAULT_MEAN = [0.485, 0.456, 0.406]
IMAGENET_DEFAULT_STD = [0.229, 0.224, 0.225]
HALF = [0.5, 0.5, 0.5]

# Per class: (size default, bare-number size is square?, resample, center crop, crop default, mean, std)
CLASSES = {
    "CLIPImageProcessor": dict(size={"shortest_edge": 224}, square=False, resample=3, crop=True,
                               crop_size={"height": 224, "width": 224}, mean=OPENAI_CLIP_MEAN, std=OPENAI_CLIP_STD),
    "ViTImageProcessor": dict(size={"height": 224, "width": 224}, square=True, resample=2, crop=False,
                              crop_size=None, mean=HALF, std=HALF),
    "BlipImageProcessor": dict(size={"height": 384, "width": 384}, square=True, resample=3, crop=False,
                               crop_size=None, mean=OPENAI_CLIP_MEAN, std=OPENAI_CLIP_STD),
    "SiglipImageProcessor": dict(size={"height": 224, "width": 224}, square=False, resample=3, crop=False,
                                 crop_size=None, mean=HALF, std=HALF),
    "ViltImageProcessor": dict(size={"shortest_edge": 384}, square=False, resample=3, crop=False,
                               crop_size=None, mean=HALF, std=HALF),
    # A config naming no known class: Polymodal reads it key by key (ImageNet statistics, bilinear).
    None: dict(size=None, square=True, resample=2, crop=False, crop_size=None,
               mean=IMAGENET_DEFAULT_MEAN, std=IMAGENET_DEFAULT_STD),
}


def class_of(config):
    name = config.get("image_processor_type") or config.get("feature_extractor_type")
    if name is None:
        return None
    # AutoImageProcessor reads the same config for the Fast (torchvision) and Pil classes.
    name = name.replace("FeatureExtractor", "ImageProcessor")
    for suffix in ("Fast", "Pil"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def get_size_dict(size, default_to_square):
    if isinstance(size, int):
        return {"height": size, "width": size} if default_to_square else {"shortest_edge": size}
    return dict(size)


def output_size(h, w, size, cls, config):
    if cls == "ViltImageProcessor":
        shorter = size["shortest_edge"]
        longer = int(1333 / 800 * shorter)
        divisor = config.get("size_divisor", 32)
        scale = shorter / min(h, w)
        if h < w:
            nh, nw = shorter, scale * w
        else:
            nh, nw = scale * h, shorter
        if max(nh, nw) > longer:
            scale = longer / max(nh, nw)
            nh, nw = scale * nh, scale * nw
        nh, nw = int(nh + 0.5), int(nw + 0.5)
        return nh // divisor * divisor, nw // divisor * divisor
    if "shortest_edge" in size:
        s = size["shortest_edge"]
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = s, int(s * long / short)
        return (new_long, new_short) if w <= h else (new_short, new_long)
    return size["height"], size["width"]


def center_crop(img, ch, cw):
    """HF image_transforms.center_crop on an HWC array, padding with zeros when needed."""
    oh, ow = img.shape[:2]
    top, left = (oh - ch) // 2, (ow - cw) // 2
    bottom, right = top + ch, left + cw
    if top >= 0 and bottom <= oh and left >= 0 and right <= ow:
        return img[top:bottom, left:right]
    nh, nw = max(ch, oh), max(cw, ow)
    padded = np.zeros((nh, nw) + img.shape[2:], dtype=img.dtype)
    tp, lp = math.ceil((nh - oh) / 2), math.ceil((nw - ow) / 2)
    padded[tp:tp + oh, lp:lp + ow] = img
    top, bottom, left, right = top + tp, bottom + tp, left + lp, right + lp
    return padded[max(0, top):min(nh, bottom), max(0, left):min(nw, right)]


def process(img, config):
    cls = class_of(config)
    d = CLASSES[cls if cls in CLASSES else None]
    square = config.get("default_to_square", d["square"])
    size = get_size_dict(config.get("size", d["size"]), square)
    h, w = output_size(img.shape[0], img.shape[1], size, cls, config)
    resample = config.get("resample", d["resample"])
    resized = np.array(Image.fromarray(img).resize((w, h), resample=resample))
    out = resized
    if config.get("do_center_crop", d["crop"]):
        crop = get_size_dict(config.get("crop_size", d["crop_size"]), True)
        out = center_crop(out, crop["height"], crop["width"])
    if config.get("do_rescale", True):
        out = (out.astype(np.float64) * config.get("rescale_factor", 1 / 255)).astype(np.float32)
    out = out.astype(np.float32)
    if config.get("do_normalize", True):
        mean = np.array(config.get("image_mean", d["mean"]), dtype=np.float32)
        std = np.array(config.get("image_std", d["std"]), dtype=np.float32)
        out = (out - mean) / std
    return resized, np.ascontiguousarray(out.transpose(2, 0, 1))


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


rng = np.random.RandomState(0)
images = []
for w, h in [(37, 23), (23, 37), (7, 5)]:
    images.append(rng.randint(0, 256, size=(h, w, 3), dtype=np.uint8))
# A smooth image too (large flat areas make rounding differences show in fewer pixels).
yy, xx = np.mgrid[0:21, 0:30]
smooth = np.stack([xx * 8, yy * 12, (xx + yy) * 5], axis=-1).clip(0, 255).astype(np.uint8)
images.append(smooth)

CONFIGS = {
    # openai/clip-vit-base-patch32's preprocessor_config.json, scaled down (224 → 16, crop 14).
    "clip-int-size": {"feature_extractor_type": "CLIPFeatureExtractor", "size": 16, "crop_size": 14,
                      "do_center_crop": True, "do_normalize": True, "do_resize": True,
                      "image_mean": OPENAI_CLIP_MEAN, "image_std": OPENAI_CLIP_STD, "resample": 3},
    "clip-defaults": {"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 20},
                      "crop_size": {"height": 18, "width": 12}},
    "clip-crop-pads": {"image_processor_type": "CLIPImageProcessorFast", "size": 12,
                       "crop_size": {"height": 16, "width": 20}},
    "vit-int-size": {"image_processor_type": "ViTImageProcessor", "size": 12},
    "blip": {"image_processor_type": "BlipImageProcessor", "size": {"height": 10, "width": 15}},
    "siglip": {"image_processor_type": "SiglipImageProcessor", "size": {"height": 16, "width": 16}},
    "vilt": {"feature_extractor_type": "ViltFeatureExtractor", "size": 24, "size_divisor": 8,
             "image_mean": HALF, "image_std": HALF, "resample": 3},
    "lanczos": {"size": {"height": 9, "width": 14}, "resample": 1},
    "box": {"size": {"height": 11, "width": 8}, "resample": 4},
    "hamming": {"size": {"height": 13, "width": 10}, "resample": 5},
    "nearest": {"size": {"height": 17, "width": 11}, "resample": 0},
    "bilinear-up": {"size": {"height": 20, "width": 14}, "resample": 2},
    "bicubic-up": {"size": {"height": 17, "width": 22}, "resample": 3, "do_normalize": False},
}

cases = []
for name, config in CONFIGS.items():
    results = [process(img, config) for img in images]
    entry = {"name": name, "config": config, "outputs": []}
    for (resized, chw) in results:
        entry["outputs"].append({
            "resized": {"width": resized.shape[1], "height": resized.shape[0], "uint8": b64(resized)},
            "chw": {"width": chw.shape[2], "height": chw.shape[1], "float32": b64(chw)},
        })
    if class_of(config) == "ViltImageProcessor":
        hmax = max(c.shape[1] for _, c in results)
        wmax = max(c.shape[2] for _, c in results)
        # HF ViLT pads after normalising: zeros at the bottom/right, pixel_mask 1 on the image.
        # (The padded values follow from the per-image outputs; only their shape and mask are stored.)
        mask = np.zeros((len(results), hmax, wmax), dtype=np.uint8)
        for i, (_, c) in enumerate(results):
            mask[i, : c.shape[1], : c.shape[2]] = 1
        entry["batch"] = {"shape": [len(results), 3, hmax, wmax], "mask": b64(mask)}
    cases.append(entry)

fixture = {
    "generator": "scripts/make-hf-processor-fixtures.py",
    "pillow": PIL.__version__,
    "numpy": np.__version__,
    "images": [{"width": im.shape[1], "height": im.shape[0], "uint8": b64(im)} for im in images],
    "cases": cases,
}
with open(OUT, "w") as f:
    json.dump(fixture, f)
    f.write("\n")
print("wrote", OUT, "Pillow", PIL.__version__, [c["name"] for c in cases])
