# Sphinx configuration of the course website (copied into build/site-src/ by docs/build.py).
# The notebooks are rendered from their saved outputs; MathJax is served from _static/, never from a CDN.
project = "Generative models, measured"
author = "the course authors"
extensions = ["myst_nb"]
exclude_patterns = ["_build", "_extra", "**.ipynb_checkpoints"]

nb_execution_mode = "off"                 # the committed outputs are the measured run
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]       # notebooks may skip a heading level

# MathJax 2 from the jupyter-server-mathjax package (HTML-CSS output, its STIX-Web fonts), never a CDN.
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
mathjax2_config = {
    "tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]], "processEscapes": True,
                # myst-nb marks notebook pages tex2jax_ignore: typeset only its math nodes.
                "processClass": "math|tex2jax_process|mathjax_process|output_area"},
    "HTML-CSS": {"availableFonts": [], "preferredFont": None, "webFont": "STIX-Web", "imageFont": None,
                 # MathJax's blank test font points at about:blank, which a file:// page may not load.
                 "styles": {"@font-face": {"font-family": "MathJax_Blank", "src": "local('MathJax_Blank')"}}},
    # The hidden MathML copy for screen readers asks for TeX fonts this package does not ship.
    "menuSettings": {"assistiveMML": False},
    "messageStyle": "none",
}
nb_ipywidgets_js = {}                     # no widget manager from a CDN: explorers show their snapshots

html_theme = "sphinx_book_theme"
html_title = project
html_context = {"default_mode": "light"}
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_extra_path = ["_extra"]           # figures/ for the landing page's <img> tags
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "home_page_in_toc": True,
}
html_copy_source = False
html_show_sourcelink = False
