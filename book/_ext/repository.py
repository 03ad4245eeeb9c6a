"""One place for the repository address: Binder, repository, Pages links.

The address comes from the first of

1. the environment variable ``CNNBP_REPOSITORY_URL``;
2. ``repository: url:`` in ``_config.yml`` (empty by default);
3. the checkout's git remote ``origin`` (``git@github.com:o/r.git`` and
   ``https://github.com/o/r.git`` both give ``https://github.com/o/r``),

so a fork builds buttons that point at the fork without editing a file.
Only GitHub, GitLab and Bitbucket addresses make buttons (Binder and the
theme know no others). With none, the build prints which setting to fill
and leaves the buttons out; it does not warn, so a strict build of a
fresh clone still passes.

The intro page uses two substitutions this sets: ``{{ binder_link }}``
(a sentence with the Binder link, or the note that this copy has none)
and ``{{ repository_link }}``.
"""

import os
import re
import subprocess
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

ENV = "CNNBP_REPOSITORY_URL"
HOSTS = ("github.com", "gitlab.com", "bitbucket.org")
HELP = (f"no repository address: set `repository: url:` in _config.yml "
        f"or the environment variable {ENV} (e.g. "
        f"https://github.com/OWNER/REPO), or add a git remote 'origin'. "
        f"The book is built without Binder and repository buttons.")


def normalise(remote):
    """A git remote as ``https://HOST/OWNER/REPO``, or None.

    Parameters
    ----------
    remote : str
        As ``git remote get-url origin`` prints it.

    Returns
    -------
    str or None
        None for a local path or a host the buttons do not support.

    Examples
    --------
    >>> normalise("git@github.com:someone/cnnbp-course.git")
    'https://github.com/someone/cnnbp-course'
    >>> normalise("https://x-token:abc@github.com/o/r.git/")
    'https://github.com/o/r'
    >>> normalise("/srv/git/cnnbp.git") is None
    True
    """
    remote = remote.strip()
    ssh = re.fullmatch(r"(?:ssh://)?[\w.-]+@([\w.-]+)[:/](.+)", remote)
    web = re.fullmatch(r"(?:https?|git)://(?:[^@/]+@)?([\w.-]+)/(.+)",
                       remote)
    match = ssh or web
    if not match or match.group(1).lower() not in HOSTS:
        return None
    path = re.sub(r"\.git$", "", match.group(2).strip("/"))
    if path.count("/") != 1:
        return None
    return f"https://{match.group(1).lower()}/{path}"


def git_remote(folder):
    """``origin``'s address for the checkout holding ``folder``, or ''."""
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "remote", "get-url", "origin"],
            capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def resolve(configured, folder, environ=os.environ):
    """The repository address and where it came from.

    Parameters
    ----------
    configured : str
        ``repository.url`` of ``_config.yml`` ('' when unset).
    folder : path
        A folder of the checkout (for the git remote).
    environ : mapping

    Returns
    -------
    (str or None, str)
        The address (None when there is none) and its source, one of
        ``"environment"``, ``"_config.yml"``, ``"git remote"``, ``""``.
    """
    for value, source in ((environ.get(ENV, ""), "environment"),
                          (configured or "", "_config.yml")):
        if value.strip():
            return value.strip().rstrip("/"), source
    url = normalise(git_remote(folder) or "")
    return (url, "git remote") if url else (None, "")


def binder_url(url, branch, hub="https://mybinder.org"):
    """The Binder address that opens the course's intro in JupyterLab."""
    host, owner_repo = url.split("://", 1)[1].split("/", 1)
    kind = {"github.com": "gh", "gitlab.com": "gl",
            "bitbucket.org": "bitbucket"}.get(host, "gh")
    return (f"{hub.rstrip('/')}/v2/{kind}/{owner_repo}/{branch}"
            f"?urlpath=lab/tree/book/01_chain_rule.ipynb")


def configure(app, config):
    """Fill the theme's repository options and the intro's links."""
    options = config.html_theme_options
    url, source = resolve(options.get("repository_url", ""),
                          Path(app.srcdir))
    subs = dict(config.myst_substitutions or {})
    if url is None:
        logger.info(HELP)
        options.pop("repository_url", None)
        options["use_repository_button"] = False
        options.pop("launch_buttons", None)
        subs["binder_link"] = (
            "This copy of the book was built without a repository address, "
            "so it has no Binder button; run the chapters on your own "
            "machine as below.")
        subs["repository_link"] = "the course's repository"
    else:
        logger.info(f"repository address {url} (from the {source})")
        branch = options.get("repository_branch") or "main"
        options["repository_url"] = url
        options["repository_branch"] = branch
        options["use_repository_button"] = True
        hub = options.get("launch_buttons", {}).get("binderhub_url",
                                                    "https://mybinder.org")
        subs["binder_link"] = (
            f"Or start with [the first chapter in Binder]"
            f"({binder_url(url, branch, hub)}).")
        subs["repository_link"] = f"[the course's repository]({url})"
    config.myst_substitutions = subs


def setup(app):
    """Resolve the address once the configuration is read."""
    app.connect("config-inited", configure, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
