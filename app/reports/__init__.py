"""What a version gets wrong: the sets it is judged on (eval_sets), its figures computed and stored
(compute), and one version's report or two compared as the API shows them (views)."""
