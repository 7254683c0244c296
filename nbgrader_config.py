"""nbgrader course layout, for teachers who prefer nbgrader's own commands to `make homework`.

The course notebooks themselves are the assignment "notebooks" (source_directory is the repository root),
and everything nbgrader writes goes under the git-ignored homework/nbgrader/ folder:

    nbgrader generate_assignment notebooks            # -> homework/nbgrader/release/notebooks/
    # collect submissions into homework/nbgrader/submitted/<student>/notebooks/
    nbgrader autograde notebooks                      # -> homework/nbgrader/autograded/
    nbgrader generate_feedback notebooks
"""
import os

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "homework", "nbgrader")
os.makedirs(OUT, exist_ok=True)

c.CourseDirectory.root = HERE
c.CourseDirectory.source_directory = "."
c.CourseDirectory.release_directory = os.path.join(OUT, "release")
c.CourseDirectory.submitted_directory = os.path.join(OUT, "submitted")
c.CourseDirectory.autograded_directory = os.path.join(OUT, "autograded")
c.CourseDirectory.feedback_directory = os.path.join(OUT, "feedback")
c.CourseDirectory.solution_directory = os.path.join(OUT, "solution")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(OUT, "gradebook.db")
c.Execute.timeout = 600
