"""Content sniffing: every supported signature, and non-media input is None."""
import pytest

from app.sniff import (IMAGE_FORMATS, SNIFF_BYTES, VIDEO_FORMATS, detect_image_format,
                       detect_video_format, image_mime_type, video_mime_type)


def ftyp(brand: bytes, compatible: bytes = b"isomiso2mp41") -> bytes:
    body = b"ftyp" + brand + b"\x00\x00\x02\x00" + compatible
    return (len(body) + 4).to_bytes(4, "big") + body + b"\x00\x00\x00\x08free" + bytes(32)


def atom(name: bytes) -> bytes:
    return b"\x00\x00\x00\x08" + name + b"\x00\x00\x10\x00mdat" + bytes(40)


ASF = bytes.fromhex("3026B2758E66CF11A6D900AA0062CE6C") + bytes(30)

VIDEOS = [
    (ftyp(b"isom"), "mpeg4"), (ftyp(b"iso2"), "mpeg4"), (ftyp(b"mp41"), "mpeg4"),
    (ftyp(b"mp42"), "mpeg4"), (ftyp(b"avc1"), "mpeg4"), (ftyp(b"M4V "), "mpeg4"),
    (ftyp(b"dash"), "mpeg4"), (ftyp(b"zzzz"), "mpeg4"),
    (ftyp(b"3gp4"), "3gpp"), (ftyp(b"3gp5"), "3gpp"), (ftyp(b"3g2a"), "3gpp"),
    (ftyp(b"qt  "), "mov"),
    (atom(b"moov"), "mov"), (atom(b"mdat"), "mov"), (atom(b"wide"), "mov"),
    (atom(b"free"), "mov"), (atom(b"skip"), "mov"),
    (b"RIFF\x24\x00\x10\x00AVI LIST" + bytes(40), "avi"),
    (b"FLV\x01\x05\x00\x00\x00\x09" + bytes(40), "flv"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm" + bytes(40), "webm"),
    (ASF, "wmv"),
    (b"\x00\x00\x01\xba\x44\x00\x04\x00\x04\x01" + bytes(40), "mpegps"),
    (b"\x00\x00\x01\xb3\x16\x00\xf0\x15" + bytes(40), "mpegps"),
]

IMAGES = [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40), "jpeg"),
    (b"\xff\xd8\xff\xe1\x00\x10Exif\x00" + bytes(40), "jpeg"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(40), "png"),
    (b"GIF87a\x01\x00\x01\x00" + bytes(40), "gif"),
    (b"GIF89a\x01\x00\x01\x00" + bytes(40), "gif"),
    (b"BM\x46\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00" + bytes(40), "bmp"),
    (b"BM\x46\x00\x00\x00\x00\x00\x00\x00\x7a\x00\x00\x00\x7c\x00\x00\x00" + bytes(40), "bmp"),
    (b"II*\x00\x08\x00\x00\x00" + bytes(40), "tiff"),
    (b"MM\x00*\x00\x00\x00\x08" + bytes(40), "tiff"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(40), "webp"),
]

NOT_MEDIA = [
    b"", b"\x00", b"hello world, this is a plain text file\n" * 2,
    b"<!DOCTYPE html><html><head><title>x</title></head></html>",
    b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(40),                       # zip
    b"ID3\x04\x00\x00\x00\x00\x00\x23TSSE" + bytes(40),                      # mp3 with ID3 tag
    b"\xff\xfb\x90\x64\x00" + bytes(40),                                     # mp3 frame
    b"RIFF\x24\x00\x10\x00WAVEfmt " + bytes(40),                             # wav
    b"%PDF-1.7\n" + bytes(40),
    b"BMW is a car maker and this text starts with BM" + bytes(10),
    b"\x1f\x8b\x08\x00" + bytes(40),                                          # gzip
    b"OggS\x00\x02" + bytes(40),
    ftyp(b"M4A "), ftyp(b"heic"), ftyp(b"avif"),                             # audio / still images
    b"\x00\x00\x00\x18ftyp",                                                 # truncated ftyp
]


@pytest.mark.parametrize("head,expected", VIDEOS)
def test_video_signatures(head, expected):
    assert detect_video_format(head[:SNIFF_BYTES]) == expected
    assert detect_image_format(head[:SNIFF_BYTES]) is None


@pytest.mark.parametrize("head,expected", IMAGES)
def test_image_signatures(head, expected):
    assert detect_image_format(head[:SNIFF_BYTES]) == expected
    assert detect_video_format(head[:SNIFF_BYTES]) is None


@pytest.mark.parametrize("head", NOT_MEDIA)
def test_non_media_is_none(head):
    assert detect_video_format(head) is None
    assert detect_image_format(head) is None


def test_every_format_is_detectable_and_has_a_mime_type():
    assert {fmt for _, fmt in VIDEOS} == set(VIDEO_FORMATS)
    assert {fmt for _, fmt in IMAGES} == set(IMAGE_FORMATS)
    assert all(video_mime_type(f).startswith("video/") for f in VIDEO_FORMATS)
    assert all(image_mime_type(f).startswith("image/") for f in IMAGE_FORMATS)


@pytest.mark.parametrize("fmt,mime", [
    ("mpeg4", "video/mp4"), ("mov", "video/quicktime"), ("3gpp", "video/3gpp"),
    ("avi", "video/x-msvideo"), ("flv", "video/x-flv"), ("mpegps", "video/mpeg"),
    ("webm", "video/webm"), ("wmv", "video/x-ms-wmv"),
])
def test_video_mime_types(fmt, mime):
    assert video_mime_type(fmt) == mime


def test_unknown_format_mime_type_raises():
    with pytest.raises(ValueError):
        video_mime_type("mkv")
    with pytest.raises(ValueError):
        image_mime_type("heic")
