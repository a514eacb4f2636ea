"""Training runs: what a run is and what it saves (training), a run's own process (job), and starting,
cancelling and reaping it (control)."""
