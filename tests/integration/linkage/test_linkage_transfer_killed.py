"""A sender process killed mid-transfer (SIGKILL, no clean-up of any kind) resumes where
the receiver's verification stopped, and the transfer arrives whole."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from linkage_transfer import NOW, Parties, assert_same, encodings
from migrex.linkage.chunks import batches
from migrex.linkage.reception import resume_from
from migrex.linkage.transfer import chunk_name, resume_sending, send

RECORDS, CHUNK = 20_000, 500  # forty chunks

# The sender, in a process of its own: it writes a chunk every few hundredths of a second
# and says so, until it is killed.
SENDER = """
import json, sys, time
from pathlib import Path
from joserfc.jwk import OKPKey
from linkage_transfer import NOW, Parties, encodings
from migrex.linkage.chunks import batches

keys = json.loads(Path(sys.argv[2]).read_text())
parties = Parties(*(OKPKey.import_key(keys[n]) for n in ("signing", "own", "recipient")))
sending = parties.start(Path(sys.argv[1]), chunk_records=int(sys.argv[3]))
for batch in batches(*encodings(int(sys.argv[4])), int(sys.argv[3])):
    sending.write(batch)
    print(sending.next_index, flush=True)
    time.sleep(0.03)
sending.finish(NOW)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL semantics")
def test_a_sender_killed_mid_transfer_resumes_without_resending(tmp_path: Path) -> None:
    parties = Parties()
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({
        name: getattr(parties, name).as_dict(private=True)
        for name in ("signing", "own", "recipient")
    }))  # fmt: skip
    directory = tmp_path / "transfer"
    tests = Path(__file__).parents[2]
    env = os.environ | {"PYTHONPATH": os.pathsep.join([*sys.path, str(tests)])}
    child = subprocess.Popen(
        [sys.executable, "-c", SENDER, str(directory), str(keys), str(CHUNK), str(RECORDS)],
        stdout=subprocess.PIPE, env=env, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if int(line) >= 6:
                break
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    progress = parties.receive(directory)
    assert not progress.complete and 6 <= progress.verified < RECORDS // CHUNK
    point = resume_from(directory)
    assert point.index == progress.verified
    kept = {i: (directory / chunk_name(i)).read_bytes() for i in range(point.index)}
    written_at = time.time()

    sending = resume_sending(
        directory, point, signing_key=parties.signing, sender_decryption_key=parties.own, now=NOW
    )
    data = encodings(RECORDS)
    send(sending, batches(*data, CHUNK, start=point.index), NOW)

    assert parties.receive(directory).complete
    assert_same(parties.load(directory), *data)
    # The chunks verified before the kill were neither sent again nor touched.
    assert {i: (directory / chunk_name(i)).read_bytes() for i in range(point.index)} == kept
    assert all((directory / chunk_name(i)).stat().st_mtime < written_at for i in range(point.index))
    assert not list(directory.glob("*.partial"))
