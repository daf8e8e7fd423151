(async () => {
  const status = (text) => document.body.setAttribute("data-diagram", text);
  window.addEventListener("error", (event) => status("failed: " + event.message));
  try {
    mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "default", flowchart: { htmlLabels: true, useMaxWidth: true } });
    await mermaid.run({ querySelector: "pre.mermaid" });
    // The diagram is fitted to the page; a click shows it at its natural size (and back).
    for (const svg of document.querySelectorAll("pre.mermaid svg")) {
      svg.style.cursor = "zoom-in";
      svg.addEventListener("click", () => {
        const natural = svg.style.width === "";
        svg.style.width = natural ? svg.style.maxWidth : "";
        svg.style.cursor = natural ? "zoom-out" : "zoom-in";
      });
      const hint = document.createElement("p");
      hint.className = "hint";
      hint.textContent = "Click the diagram to see it at full size.";
      svg.closest("pre").after(hint);
    }
    const drawn = document.querySelectorAll("pre.mermaid svg").length;
    const wanted = document.querySelectorAll("pre.mermaid").length;
    status(drawn === wanted ? "rendered" : "failed: " + drawn + " of " + wanted + " diagrams drawn");
  } catch (error) {
    status("failed: " + (error && error.message ? error.message : error));
  }
})();
