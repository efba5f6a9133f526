// Print cannot scroll: book.css scales a display equation wider than the column down to fit.
// It needs what CSS cannot measure: each equation's width in em (from MathJax) and its font size.
window.addEventListener("load", async () => {
  const mj = window.MathJax;
  if (!mj?.startup?.promise) return;
  await mj.startup.promise;
  for (const m of mj.startup.document.math) if (m.display && m.typesetRoot) {
    m.typesetRoot.style.setProperty("--math-em", mj.startup.output.getBBox(m, mj.startup.document).w.toFixed(3));
    m.typesetRoot.style.setProperty("--math-size", m.typesetRoot.style.fontSize || "100%");
  }
});
