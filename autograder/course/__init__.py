"""Course operations around nbgrader: where things are, settings, gradebook, release and
translations, LMS import and export, feedback, reports."""
