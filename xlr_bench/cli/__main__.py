"""``python -m xlr_bench.cli`` (used by launchers such as ``accelerate launch -m xlr_bench.cli``)."""

from xlr_bench.cli.app import main

main()
