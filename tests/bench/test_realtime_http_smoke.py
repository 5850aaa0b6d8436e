"""The end-to-end real-time benchmark runs on a tiny load (numbers only; no timing assertions)."""

from __future__ import annotations

from bench import realtime_http


def test_every_sent_event_is_seen_in_the_change_log_in_both_engine_modes() -> None:
    results = {
        mode: realtime_http.run(rate=400, seconds=1.0, batch=50, engine_process=mode)
        for mode in ("off", "on")
    }
    for result in results.values():
        assert result["events"] == 400
        assert result["with_change"] == 400  # each event's own change, seen by the follower
        assert result["e2e_p99"] >= result["e2e_p50"] > 0
        assert result["ack_p99"] >= result["ack_p50"] > 0
    text = realtime_http.report(results, 400)
    assert "| engine process | HTTP ingest → change seen in the log |" in text
    assert "| engine thread (baseline) | HTTP acknowledgement |" in text
    assert text.count("400 of 400 events seen") == 2
    assert "thread over process" in text


def test_bodies_are_unique_and_paced_in_batches() -> None:
    requests = realtime_http.bodies(rate=1_000, seconds=0.5, batch=50)
    ids = [mid for batch, _ in requests for mid in batch]
    assert len(requests) == 10 and len(ids) == len(set(ids)) == 500
