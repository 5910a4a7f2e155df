// Render the math that pymdownx.arithmatex wraps in <span class="arithmatex">, with the KaTeX
// copy vendored beside this file (no CDN: the site works offline). Material's instant loading
// is off, so one render per page load is enough.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".arithmatex").forEach(function (el) {
    renderMathInElement(el, {
      delimiters: [
        {left: "\\(", right: "\\)", display: false},
        {left: "\\[", right: "\\]", display: true},
      ],
      throwOnError: true,
    });
  });
});
