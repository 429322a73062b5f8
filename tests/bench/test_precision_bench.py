"""--precision in the benchmarks: suites at bf16 keep their own results folder, the report names the command, and
nstr bench perf compares fp32 with bf16 (step time and PSNR at equal steps, the SIREN step against siren-pytorch)."""

from __future__ import annotations

import math

import pytest
import torch

from nstr.bench import siren_step
from nstr.bench.perf import precision_rows
from nstr.bench.report import _suite_command, render, write_result
from nstr.bench.suites import Overrides, expand, parse_suite_name
from nstr.cli.main import main
from nstr.core.errors import NstrError


def test_a_suite_at_bf16_has_its_own_folder_and_fp32_cells_keep_their_spec():
    plain = expand("table1", Overrides(signals=("camera",), models=("siren",), seeds=1))
    bf16 = expand("table1", Overrides(signals=("camera",), models=("siren",), seeds=1, precision="bf16"))
    fp32 = expand("table1", Overrides(signals=("camera",), models=("siren",), seeds=1, precision="fp32"))
    assert "precision" not in plain[0].fit and fp32 == plain  # stored fp32 results stay valid
    assert bf16[0].suite == "table1-bf16" and bf16[0].fit["precision"] == "bf16"
    quick = expand("table1", Overrides(models=("siren",), quick=True, precision="fp16"))
    assert quick[0].suite == "table1-quick-fp16"
    assert parse_suite_name("table1-quick-fp16") == ("table1", True, "fp16")
    assert parse_suite_name("table1") == ("table1", False, "fp32")
    assert _suite_command("table1-quick-bf16") == "nstr bench table1 --quick --precision bf16"
    with pytest.raises(NstrError, match="--precision must be one of fp32, bf16, fp16"):
        expand("table1", Overrides(models=("siren",), precision="fp8"))


def test_precision_option_of_the_bench_and_fit_commands(tmp_path):
    assert main(["bench", "quick", "--precision", "fp8", "--out", str(tmp_path)]) == 2
    assert main(["bench", "perf", "--precision-steps", "-1", "--out", str(tmp_path)]) == 2
    assert main(["fit", "camera", "--precision", "half", "--steps", "1", "--out", str(tmp_path / "run")]) == 2
    assert not any(tmp_path.iterdir())


def test_precision_rows_compare_bf16_with_fp32_at_equal_steps(tmp_path):
    rows = precision_rows(["hashgrid"], steps=3, side=32, target_params=5000)
    assert [r["precision"] for r in rows] == ["fp32", "bf16"]
    assert all(r["steps"] == 3 and math.isfinite(r["psnr"]) and r["ms_per_step"] > 0 for r in rows)
    assert rows[0]["step_time_vs_fp32"] == 1.0 and rows[0]["psnr_change_db"] == 0.0
    path = write_result(tmp_path / "precision.json", "precision", "precision title", "summary", "nstr bench perf", rows)
    assert "precision title" in render(tmp_path) and path.is_file()


class _Queue:
    def put(self, item):
        self.item = item


@pytest.mark.slow
def test_siren_step_bf16_variant_trains_in_bfloat16():
    queue = _Queue()
    # Small: where the CPU has no native bf16 (AVX2 only) a full-size bf16 step and GEMM take minutes.
    siren_step._run("bf16", 2, queue, side=32)
    assert math.isfinite(queue.item["final_loss"]) and queue.item["seconds_per_step"] > 0
    assert siren_step.matmul_rate(torch.bfloat16, rows=1024) > 0
