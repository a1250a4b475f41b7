"""Checks that a PNG screenshot is not blank: decodes it (zlib + PNG filters, RGBA8)
and requires many distinct colours spread over the image."""
import struct
import sys
import zlib


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"{path}: not a PNG")
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            if (depth, colour) != (8, 6):
                raise SystemExit(f"{path}: expected RGBA8, got depth {depth} colour type {colour}")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride, bpp = width * 4, 4
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def main():
    path = sys.argv[1]
    width, height, rows = decode(path)
    colours = set()
    busy_bands = 0
    for band in range(10):
        band_colours = set()
        for y in range(band * height // 10, (band + 1) * height // 10, 7):
            row = rows[y]
            for x in range(0, width * 4, 28):
                band_colours.add(row[x:x + 3])
        colours |= band_colours
        busy_bands += len(band_colours) > 8
    print(f"{path}: {width}x{height}, {len(colours)} distinct colours, {busy_bands}/10 bands with content")
    if width < 640 or height < 400 or len(colours) < 64 or busy_bands < 6:
        raise SystemExit("the screenshot looks blank")


main()
