"""`python main.py --self-test`: the real window offscreen (`runner`) and the check of the report it
writes (`report_check`), so a broken install or bundle fails there rather than at a clinician."""
