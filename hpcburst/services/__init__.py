"""Application services on the storage ports: submit/view/cancel/requeue jobs, dispatch batches,
lease and report work, track nodes. ``root`` builds them once per process from Settings."""
