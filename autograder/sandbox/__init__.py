"""What runs inside the sandbox: the only part of the package mounted there.

Modules here import nothing from the rest of ``autograder`` (a test checks it)."""
