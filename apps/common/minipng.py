"""Tiny dependency-free plotting for the sparkswarm apps: RGB raster + 5x7 bitmap font + PNG writer.

The operator's venv has only pyspark and numpy, so the apps cannot count on matplotlib. This
module draws the three pictures the apps need (scatter with y=x, ROC curve, confusion-matrix
heatmap) with the standard library alone (zlib + struct). Ship it with `pyFiles`.
"""
import math
import struct
import zlib

# 5x7 glyphs, one 5-bit row per entry (HD44780 style). Lower case is drawn as upper case.
_FONT = {
    "0": "0E 11 13 15 19 11 0E", "1": "04 0C 04 04 04 04 0E", "2": "0E 11 01 02 04 08 1F",
    "3": "1F 02 04 02 01 11 0E", "4": "02 06 0A 12 1F 02 02", "5": "1F 10 1E 01 01 11 0E",
    "6": "06 08 10 1E 11 11 0E", "7": "1F 01 02 04 08 08 08", "8": "0E 11 11 0E 11 11 0E",
    "9": "0E 11 11 0F 01 02 0C", "A": "0E 11 11 11 1F 11 11", "B": "1E 11 11 1E 11 11 1E",
    "C": "0E 11 10 10 10 11 0E", "D": "1C 12 11 11 11 12 1C", "E": "1F 10 10 1E 10 10 1F",
    "F": "1F 10 10 1E 10 10 10", "G": "0E 11 10 17 11 11 0F", "H": "11 11 11 1F 11 11 11",
    "I": "0E 04 04 04 04 04 0E", "J": "07 02 02 02 02 12 0C", "K": "11 12 14 18 14 12 11",
    "L": "10 10 10 10 10 10 1F", "M": "11 1B 15 15 11 11 11", "N": "11 11 19 15 13 11 11",
    "O": "0E 11 11 11 11 11 0E", "P": "1E 11 11 1E 10 10 10", "Q": "0E 11 11 11 15 12 0D",
    "R": "1E 11 11 1E 14 12 11", "S": "0F 10 10 0E 01 01 1E", "T": "1F 04 04 04 04 04 04",
    "U": "11 11 11 11 11 11 0E", "V": "11 11 11 11 11 0A 04", "W": "11 11 11 15 15 15 0A",
    "X": "11 11 0A 04 0A 11 11", "Y": "11 11 11 0A 04 04 04", "Z": "1F 01 02 04 08 10 1F",
    ".": "00 00 00 00 00 0C 0C", "-": "00 00 00 1F 00 00 00", ":": "00 0C 0C 00 0C 0C 00",
    "(": "02 04 08 08 08 04 02", ")": "08 04 02 02 02 04 08", "/": "00 01 02 04 08 10 00",
    "=": "00 00 1F 00 1F 00 00", ",": "00 00 00 00 0C 04 08", "%": "18 19 02 04 08 13 03",
    "_": "00 00 00 00 00 00 1F", "+": "00 04 04 1F 04 04 00", "?": "0E 11 01 02 04 00 04",
    " ": "00 00 00 00 00 00 00",
}
_GLYPHS = {k: [int(b, 16) for b in v.split()] for k, v in _FONT.items()}

WHITE, BLACK, GREY, LIGHT = (255, 255, 255), (30, 30, 30), (120, 120, 120), (225, 225, 225)
BLUE, RED, ORANGE = (31, 119, 180), (214, 39, 40), (255, 127, 14)


class Canvas:
    def __init__(self, width, height, bg=WHITE):
        self.w, self.h = width, height
        self.buf = bytearray(bytes(bg) * (width * height))

    def px(self, x, y, color, alpha=1.0):
        if 0 <= x < self.w and 0 <= y < self.h:
            i = 3 * (y * self.w + x)
            if alpha >= 1.0:
                self.buf[i:i + 3] = bytes(color)
            else:  # blend, so overlapping points read as density
                for k in range(3):
                    self.buf[i + k] = int(self.buf[i + k] * (1 - alpha) + color[k] * alpha)

    def rect(self, x0, y0, x1, y1, color):
        x0, y0, x1, y1 = (int(round(v)) for v in (x0, y0, x1, y1))
        x0, x1 = max(0, min(x0, x1)), min(self.w, max(x0, x1))
        row = bytes(color) * (x1 - x0)
        for y in range(max(0, min(y0, y1)), min(self.h, max(y0, y1))):
            i = 3 * (y * self.w + x0)
            self.buf[i:i + len(row)] = row

    def line(self, x0, y0, x1, y1, color, width=1):
        x0, y0, x1, y1 = (int(round(v)) for v in (x0, y0, x1, y1))
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err, r = dx + dy, width // 2
        while True:  # Bresenham with a square brush for thickness
            for ox in range(-r, width - r):
                for oy in range(-r, width - r):
                    self.px(x0 + ox, y0 + oy, color)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err, x0 = err + dy, x0 + sx
            if e2 <= dx:
                err, y0 = err + dx, y0 + sy

    def dashed(self, x0, y0, x1, y1, color, dash=6):
        n = max(1, int(math.hypot(x1 - x0, y1 - y0) // dash))
        for i in range(0, n, 2):
            a, b = i / n, min(1.0, (i + 1) / n)
            self.line(x0 + (x1 - x0) * a, y0 + (y1 - y0) * a, x0 + (x1 - x0) * b, y0 + (y1 - y0) * b, color)

    def dot(self, cx, cy, r, color, alpha=1.0):
        cx, cy = int(round(cx)), int(round(cy))
        for y in range(-r, r + 1):
            for x in range(-r, r + 1):
                if x * x + y * y <= r * r + r:
                    self.px(cx + x, cy + y, color, alpha)

    @staticmethod
    def text_width(s, scale=2):
        return len(s) * 6 * scale - scale

    def text(self, x, y, s, color=BLACK, scale=2, vertical=False):
        """Draw s with its top-left at (x, y); vertical text reads bottom-to-top (y axis labels)."""
        x, y = int(round(x)), int(round(y))
        for n, ch in enumerate(str(s).upper()):
            rows = _GLYPHS.get(ch, _GLYPHS["?"])
            for r, bits in enumerate(rows):
                for c in range(5):
                    if bits & (0x10 >> c):
                        if vertical:  # rotate 90 degrees counter-clockwise
                            gx, gy = x + r * scale, y - (n * 6 + c) * scale
                        else:
                            gx, gy = x + (n * 6 + c) * scale, y + r * scale
                        self.rect(gx, gy, gx + scale, gy + scale, color)

    def save(self, path):
        raw = b"".join(b"\x00" + bytes(self.buf[3 * y * self.w:3 * (y + 1) * self.w]) for y in range(self.h))

        def chunk(kind, data):
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

        png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0))
               + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
        with open(path, "wb") as f:
            f.write(png)


def nice_ticks(lo, hi, target=6):
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / target
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks, t = [], first
    while t <= hi + 1e-9 * step:
        ticks.append(round(t, 10))
        t += step
    digits = max(0, -int(math.floor(math.log10(step)))) if step < 1 else 0
    return ticks, digits


class Axes:
    """A plotting frame on a canvas: maps data coordinates to pixels and draws ticks/labels."""

    def __init__(self, canvas, xlim, ylim, title, xlabel, ylabel, margin=(80, 50, 30, 70)):
        self.c = canvas
        left, top, right, bottom = margin
        self.x0, self.y0, self.x1, self.y1 = left, top, canvas.w - right, canvas.h - bottom
        self.xlim, self.ylim = xlim, ylim
        c = canvas
        c.text((c.w - c.text_width(title, 2)) // 2, 16, title, BLACK, 2)
        c.text((self.x0 + self.x1 - c.text_width(xlabel, 2)) // 2, c.h - 26, xlabel, BLACK, 2)
        c.text(12, (self.y0 + self.y1 + c.text_width(ylabel, 2)) // 2, ylabel, BLACK, 2, vertical=True)
        xt, xd = nice_ticks(*xlim)
        yt, yd = nice_ticks(*ylim)
        for t in xt:
            px = self.sx(t)
            c.line(px, self.y0, px, self.y1, LIGHT)
            label = f"{t:.{xd}f}"
            c.text(px - c.text_width(label, 1) // 2, self.y1 + 8, label, GREY, 1)
        for t in yt:
            py = self.sy(t)
            c.line(self.x0, py, self.x1, py, LIGHT)
            label = f"{t:.{yd}f}"
            c.text(self.x0 - 8 - c.text_width(label, 1), py - 3, label, GREY, 1)
        for a, b, d, e in ((self.x0, self.y0, self.x1, self.y0), (self.x0, self.y1, self.x1, self.y1),
                           (self.x0, self.y0, self.x0, self.y1), (self.x1, self.y0, self.x1, self.y1)):
            c.line(a, b, d, e, GREY)

    def sx(self, x):
        return self.x0 + (x - self.xlim[0]) / (self.xlim[1] - self.xlim[0]) * (self.x1 - self.x0)

    def sy(self, y):
        return self.y1 - (y - self.ylim[0]) / (self.ylim[1] - self.ylim[0]) * (self.y1 - self.y0)


def _pad(lo, hi, frac=0.04):
    span = (hi - lo) or 1.0
    return lo - span * frac, hi + span * frac


def scatter_png(path, xs, ys, title, xlabel, ylabel, diagonal=True, size=(640, 600)):
    """Predicted-vs-actual style scatter; the dashed y=x line is where perfect predictions lie."""
    c = Canvas(*size)
    lim = _pad(min(min(xs), min(ys)), max(max(xs), max(ys)))
    ax = Axes(c, lim, lim, title, xlabel, ylabel)
    if diagonal:
        c.dashed(ax.sx(lim[0]), ax.sy(lim[0]), ax.sx(lim[1]), ax.sy(lim[1]), RED)
    for x, y in zip(xs, ys):
        c.dot(ax.sx(x), ax.sy(y), 4, BLUE, alpha=0.6)
    c.save(path)


def curve_png(path, xs, ys, title, xlabel, ylabel, diagonal=True, size=(600, 600)):
    """A curve in the unit square (ROC); the dashed diagonal is a random classifier."""
    c = Canvas(*size)
    ax = Axes(c, (0.0, 1.0), (0.0, 1.0), title, xlabel, ylabel)
    if diagonal:
        c.dashed(ax.sx(0), ax.sy(0), ax.sx(1), ax.sy(1), GREY)
    pts = [(ax.sx(x), ax.sy(y)) for x, y in zip(xs, ys)]
    for (a, b), (d, e) in zip(pts, pts[1:]):
        c.line(a, b, d, e, ORANGE, width=3)
    c.save(path)


def heatmap_png(path, matrix, labels, title, xlabel="PREDICTED", ylabel="ACTUAL"):
    """Confusion matrix: rows = actual class, columns = predicted; counts in the cells."""
    n = len(labels)
    cell = max(60, min(110, 660 // max(n, 1)))
    label_w = Canvas.text_width(max(labels, key=len), 2) + 24
    left, top = 40 + label_w, 90
    c = Canvas(left + n * cell + 30, top + n * cell + 60)
    c.text((c.w - c.text_width(title, 2)) // 2, 16, title, BLACK, 2)
    c.text(left + (n * cell - c.text_width(xlabel, 2)) // 2, c.h - 30, xlabel, BLACK, 2)
    c.text(10, top + (n * cell + c.text_width(ylabel, 2)) // 2, ylabel, BLACK, 2, vertical=True)
    for r in range(n):
        total = sum(matrix[r]) or 1
        for k in range(n):
            share = matrix[r][k] / total  # colour by row share so small classes are readable too
            color = tuple(int(255 - share * (255 - v)) for v in (8, 48, 107))
            x, y = left + k * cell, top + r * cell
            c.rect(x + 1, y + 1, x + cell - 1, y + cell - 1, color)
            s = str(matrix[r][k])
            c.text(x + (cell - c.text_width(s, 2)) // 2, y + cell // 2 - 7, s, WHITE if share > 0.5 else BLACK, 2)
        c.text(left - 12 - c.text_width(labels[r], 2), top + r * cell + cell // 2 - 7, labels[r], BLACK, 2)
    for k in range(n):  # column headers: short names keep narrow cells legible
        short = labels[k][:max(3, cell // 12 - 1)]
        c.text(left + k * cell + (cell - c.text_width(short, 1 + (cell >= 90))) // 2, top - 22,
               short, BLACK, 1 + (cell >= 90))
    c.save(path)
