/* Serve the ipywidgets embed bundle from this folder, not from a CDN.
 * Loaded after require.js and before embed-amd.js.
 *
 * Each module of the bundle resolves its font files against its own
 * require.js URL (and one against the global below): all must point at
 * this folder, whatever the depth of the page.
 *
 * The widgets typeset their labels with the MathJax 2 call
 * MathJax.Hub.Queue; the book loads MathJax 3 (deferred, so it is there
 * by DOMContentLoaded, before embed-amd.js renders the widgets). The
 * shim forwards that call to MathJax 3. */
(function () {
  "use strict";
  var src = document.currentScript.src;
  var dir = src.slice(0, src.lastIndexOf("/"));
  window.__jupyter_widgets_assets_path__ = dir + "/";
  window.require.config({
    paths: {
      "@jupyter-widgets": dir,
      "@jupyter-widgets/html-manager/dist": dir
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var mj = window.MathJax;
    if (!mj || !mj.version || mj.version[0] !== "3" || mj.Hub) {
      return;
    }
    mj.Hub = {
      Queue: function (job) {
        var element = job && job[2];
        mj.startup.promise = mj.startup.promise.then(function () {
          return mj.typesetPromise(element ? [element] : undefined);
        });
      }
    };
  });
}());
