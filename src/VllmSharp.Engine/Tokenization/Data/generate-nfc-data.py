# Generates nfc-data.txt.gz, the Unicode facts UnicodeNfc.cs needs (canonical combining
# classes, canonical decompositions, which of those compose back under NFC), from Python's
# unicodedata module. Run: python3.13 generate-nfc-data.py  (output depends only on the Unicode
# version of the Python used; the header line records it).
# Line formats (hex code points):
#   C cp ccc        canonical combining class (only non-zero ones)
#   D cp a [b]      canonical decomposition that NFC does not recompose (singletons, exclusions)
#   P cp a b        canonical decomposition of a primary composite (NFC composes a+b to cp)
import gzip
import unicodedata

lines = [f"# Unicode {unicodedata.unidata_version}"]
for cp in range(0x110000):
    if 0xD800 <= cp <= 0xDFFF or 0xAC00 <= cp <= 0xD7A3:
        continue  # surrogates; Hangul syllables are composed algorithmically
    ch = chr(cp)
    ccc = unicodedata.combining(ch)
    if ccc:
        lines.append(f"C {cp:X} {ccc}")
    d = unicodedata.decomposition(ch)
    if d and not d.startswith("<"):
        parts = d.split()
        kind = "P" if len(parts) == 2 and unicodedata.normalize("NFC", ch) == ch else "D"
        lines.append(f"{kind} {cp:X} {' '.join(parts)}")

with open("nfc-data.txt.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
    f.write(("\n".join(lines) + "\n").encode("ascii"))
