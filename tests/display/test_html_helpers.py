"""nbgrad.display.html: numbers, colour maps, the PNG encoder and the SVG builders (string in, string out)."""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np
import pytest
from markup_check import SVG_NS, check_markup, svgs

from nbgrad.display import html as H


def decode_png(data: bytes):
    """A minimal PNG reader for what ``H.png`` writes: returns (pixels, color_type, palette)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF, f"bad CRC in {tag}"
        chunks.append((tag, body))
        pos += 12 + length
    assert [t for t, _ in chunks][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    w, h, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert depth == 8 and interlace == 0
    channels = {0: 1, 2: 3, 3: 1, 6: 4}[color_type]
    raw = np.frombuffer(zlib.decompress(b"".join(b for t, b in chunks if t == b"IDAT")), dtype=np.uint8)
    raw = raw.reshape(h, 1 + w * channels)
    rows = raw[:, 1:].copy()
    for y in range(h):
        if raw[y, 0] == 2 and y > 0:  # "Up"
            rows[y] += rows[y - 1]
        else:
            assert raw[y, 0] in (0, 2)
    palette = next((np.frombuffer(b, dtype=np.uint8).reshape(-1, 3) for t, b in chunks if t == b"PLTE"), None)
    pixels = rows.reshape(h, w, channels)
    return (pixels[:, :, 0] if channels == 1 else pixels), color_type, palette


# ----------------------------------------------------------------------------- numbers and text


@pytest.mark.parametrize(
    "value, text",
    [
        (0.5, "0.5"),
        (1.0, "1"),
        (-2.25, "-2.25"),
        (1234.567, "1235"),
        (0.0012345, "0.001234"),
        (123456.7, "123457"),
        (12345678.0, "1.235e+07"),
        (1e-7, "1e-07"),
        (0.0, "0"),
        (-0.0, "0"),
        (7, "7"),
        (np.int64(-3), "-3"),
        (True, "True"),
        (None, "–"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
    ],
)
def test_format_number(value, text):
    assert H.format_number(value) == text


def test_escape_and_pre():
    assert H.escape('<a href="x">&\'') == "&lt;a href=&quot;x&quot;&gt;&amp;&#x27;"
    block = H.pre("tensor([1.]) <b>")
    assert "&lt;b&gt;" in block
    check_markup(block)


def test_details_and_badge_are_balanced():
    check_markup(H.details("values", H.pre("x"), open=True) + H.badge("NaN 1", H.NAN_COLOR) + H.badge("leaf"))
    assert "<details open>" in H.details("s", "b", open=True)


# ----------------------------------------------------------------------------- colour maps


@pytest.mark.parametrize("name", sorted(H.COLORMAPS))
def test_colormap_tables(name):
    table = H.colormap(name)
    assert table.shape == (256, 3) and table.dtype == np.uint8
    np.testing.assert_array_equal(H.colormap(name), table)  # deterministic


def test_diverging_maps_are_centred_and_blue_to_red():
    for name in H.DIVERGING:
        table = H.colormap(name, 255)
        r, g, b = table[127].astype(int)
        assert min(r, g, b) > 200, "the centre (zero) must be a light neutral"
        assert table[0, 2] > table[0, 0] and table[-1, 0] > table[-1, 2], "negative blue, positive red"


def test_unknown_colormap():
    with pytest.raises(ValueError, match="unknown colour map"):
        H.colormap("jet")


def test_color_indices_specials_and_centre():
    v = np.array([-2.0, 0.0, 2.0, np.nan, np.inf, -np.inf, 5.0, -5.0])
    idx = H.color_indices(v, -2.0, 2.0)
    assert idx.tolist()[:3] == [0, round((H.LEVELS - 1) / 2), H.LEVELS - 1]
    assert idx.tolist()[3:6] == [H.NAN_INDEX, H.POSINF_INDEX, H.NEGINF_INDEX]
    assert idx.tolist()[6:] == [H.LEVELS - 1, 0]  # clipped
    pal = H.palette("RdBu")
    colours = {tuple(pal[i]) for i in (H.NAN_INDEX, H.POSINF_INDEX, H.NEGINF_INDEX)}
    assert len(colours) == 3 and not colours & {tuple(c) for c in pal[: H.LEVELS]}
    assert H.color_indices(np.array([3.0, 3.0]), 3.0, 3.0).tolist() == [126, 126]  # flat data: the middle


def test_value_range():
    assert H.value_range(-1.0, 3.0, "RdBu") == (-3.0, 3.0)
    assert H.value_range(-1.0, 3.0, "viridis") == (-1.0, 3.0)
    assert H.value_range(None, None, "RdBu") == (0.0, 1.0)


# ----------------------------------------------------------------------------- PNG


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 3), (5, 7, 4), (1, 1), (1, 300, 3)])
def test_png_round_trip(shape):
    pixels = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    data = H.png(pixels)
    assert data == H.png(pixels.copy())  # byte-identical for the same input
    decoded, color_type, _ = decode_png(data)
    np.testing.assert_array_equal(decoded, pixels)
    assert color_type == {2: 0, 3: 2 if shape[-1] == 3 else 6}[len(shape)]


def test_png_palette_round_trip_and_data_uri():
    pal = H.palette("viridis")
    idx = np.arange(256, dtype=np.uint8).reshape(16, 16)
    data = H.png(idx, pal)
    decoded, color_type, palette = decode_png(data)
    assert color_type == 3
    np.testing.assert_array_equal(decoded, idx)
    np.testing.assert_array_equal(palette, pal)
    uri = H.data_uri(data)
    assert uri.startswith("data:image/png;base64,") and base64.b64decode(uri.split(",", 1)[1]) == data


def test_png_rejects_bad_channels():
    with pytest.raises(ValueError, match="channels"):
        H.png(np.zeros((2, 2, 2), dtype=np.uint8))
    with pytest.raises(ValueError, match="palette"):
        H.png(np.zeros((2, 2, 3), dtype=np.uint8), H.palette("gray"))


def test_img_and_colorbar_markup():
    tag = H.img(H.png(np.zeros((2, 3), dtype=np.uint8)), 30, 20, 'a "title"')
    check_markup(tag)
    assert 'width="30"' in tag and "pixelated" in tag and "&quot;title&quot;" in tag
    bar = H.colorbar("RdBu", -2.0, 2.0)
    check_markup(bar)
    assert ">-2<" in bar and ">0<" in bar and ">2<" in bar
    assert ">0<" not in H.colorbar("viridis", 1.0, 2.0)


def test_display_size():
    assert H.display_size(3, 4) == (96, 72)  # 24 px cells for tiny matrices
    assert H.display_size(256, 256) == (256, 256)
    assert H.display_size(1, 256) == (256, 10)  # a minimum height stays visible


def test_special_legend():
    assert H.special_legend(0, 0, 0) == ""
    legend = H.special_legend(2, 0, 1)
    check_markup(legend)
    assert "NaN" in legend and "-Inf" in legend and "+Inf" not in legend


# ----------------------------------------------------------------------------- SVG


def test_histogram_svg_with_specials():
    fractions = np.array([0.1, 0.0, 0.5, 0.2])
    edges = np.linspace(-1.0, 1.0, 5)
    text = H.histogram_svg(fractions, edges, nan=0.1, posinf=0.05, neginf=0.05, labels=("-1", "1"))
    check_markup(text)
    assert text == H.histogram_svg(fractions, edges, nan=0.1, posinf=0.05, neginf=0.05, labels=("-1", "1"))
    (root,) = svgs(text)
    assert root.tag == SVG_NS + "svg"
    fills = {r.get("fill") for r in root.iter(SVG_NS + "rect")}
    assert {H.NAN_COLOR, H.POSINF_COLOR, H.NEGINF_COLOR} <= fills
    bars = root.find(SVG_NS + "path").get("d")
    assert bars.count("M") == 3, "one bar per non-empty bin"
    assert "stroke-dasharray" in text, "zero is marked when the range crosses it"


def test_histogram_svg_tiny_bins_stay_visible():
    fractions = np.array([1.0, 1e-9])
    (root,) = svgs(H.histogram_svg(fractions, np.array([0.0, 1.0, 2.0])))
    assert root.find(SVG_NS + "path").get("d").count("M") == 2
    assert not [r for r in root.iter(SVG_NS + "rect")], "no special bars without NaN/Inf"


def test_line_svg_points_and_gaps():
    v = np.array([0.0, 1.0, np.nan, 2.0, np.inf, -1.0])
    text = H.line_svg(v, v, 6)
    check_markup(text)
    (root,) = svgs(text)
    line = [p for p in root.iter(SVG_NS + "path") if p.get("stroke") == "#5b8ff9"][0].get("d")
    assert line.count("M") == 2, "the line breaks at the NaN"
    marker_fills = {p.get("fill") for p in root.iter(SVG_NS + "path")}
    assert H.NAN_COLOR in marker_fills and H.POSINF_COLOR in marker_fills
    assert len(list(root.iter(SVG_NS + "circle"))) == 5  # dots for short signals
    assert "6 values" in root.find(SVG_NS + "title").text


def test_line_svg_buckets():
    low, high = np.arange(100.0), np.arange(100.0) + 3
    text = H.line_svg(low, high, 10_000)
    (root,) = svgs(text)
    assert "min-max buckets" in root.find(SVG_NS + "title").text
    assert ">9999<" in text
