"""Rebuild the course's speech clips in data/speech/ with espeak-ng and sox.

The clips are synthetic speech of text written for this course, so the course may
ship them (CC0 1.0; see data/README.md).  Each language is synthesised once by
espeak-ng (22.05 kHz), then sox band-limits, resamples and normalises it:

    espeak-ng -m -v <voice> -s <wpm> -w raw.wav -f text.ssml
    sox -D -G raw.wav -r <rate> -b 16 -c 1 out.wav highpass 50 rate -v <rate> pad 0.25 0.25 gain -n -3

(``-D``: no dither; ``-G``: guard against clipping inside the chain; so a rebuild is byte-identical with the same tool versions;
``gain -n -3``: peak at -3 dBFS, so no codec under test clips.)

Usage:  python scripts/make_speech.py [--out data/speech]
Needs:  espeak-ng and sox (Debian: apt-get install espeak-ng sox).
Used in: notebooks/06_codecs.ipynb, notebooks/07_jitter_buffers.ipynb (via rtlib.media.clips).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Text written for this course.  Sentences are separated by SSML breaks so that the
# clip has talkspurts and pauses, as a real talker does (adaptive playout resets per
# talkspurt, chapter 07).
TEXT = {
    "en": [
        "A chat message may arrive two seconds late, and nobody minds.",
        "A voice that arrives half a second late ruins the conversation.",
        "So a phone call races the clock, while a chat app stores and forwards.",
        "When a packet is lost, the receiver has to guess what was said.",
    ],
    "zh": [
        "聊天消息晚到两秒钟，没有人会在意。",
        "可是通话里的声音晚到半秒，对话就乱了。",
        "实时通话要和时间赛跑，即时通讯先存储再转发。",
        "如果数据包丢了，接收端只好猜一猜说了什么。",
    ],
}
# Debian's espeak-ng 1.51 "cmn" voice reads the dictionary's pinyin with English rules
# ("liao2" -> "lie-oh two"); "cmn-latn-pinyin" speaks it as Mandarin with tones.
VOICE = {"en": ("en-us", 150), "zh": ("cmn-latn-pinyin", 150)}
RATES_HZ = (8000, 16000)
PAUSE_MS = 700


def ssml(sentences: list[str]) -> str:
    body = f'<break time="{PAUSE_MS}ms"/>'.join(sentences)
    return f"<speak>{body}</speak>"


def build(out_dir: Path) -> list[Path]:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (Debian: apt-get install espeak-ng sox)")
    out_dir.mkdir(parents=True, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory() as tmp:
        for lang, sentences in TEXT.items():
            voice, wpm = VOICE[lang]
            text = Path(tmp) / f"{lang}.ssml"
            text.write_text(ssml(sentences), encoding="utf-8")
            raw = Path(tmp) / f"{lang}_raw.wav"
            subprocess.run(["espeak-ng", "-m", "-v", voice, "-s", str(wpm), "-w", str(raw), "-f", str(text)],
                           check=True)
            for rate in RATES_HZ:
                out = out_dir / f"{lang}_{rate // 1000}k.wav"
                subprocess.run(["sox", "-D", "-G", str(raw), "-r", str(rate), "-b", "16", "-c", "1", str(out),
                                "highpass", "50", "rate", "-v", str(rate), "pad", "0.25", "0.25",
                                "gain", "-n", "-3"], check=True)
                made.append(out)
    return made


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "speech")
    args = ap.parse_args(argv)
    for path in build(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
