"""Assetto Corsa itself, from the outside: its install's content (:mod:`.content`), its config files
race.ini and controls.ini (:mod:`.config_files`), starting and stopping a session (:mod:`.session`) and
the checks of ``ac-core smoke-test`` / ``test-control`` (:mod:`.checks`)."""
