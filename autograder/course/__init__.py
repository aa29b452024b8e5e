"""Course operations around nbgrader: paths, settings, gradebook, release, LMS, reports."""
