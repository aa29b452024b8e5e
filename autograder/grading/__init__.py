"""The grading pipeline on the grader's side: from a class to one submission's outcome."""
