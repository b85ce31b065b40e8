// Renders /api/openapi.json as a readable reference, from our own origin (no third-party script).
"use strict";
(async function () {
  const root = document.getElementById("api-docs");
  if (!root) return;
  const el = (tag, text, cls) => {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  };
  try {
    const spec = await (await fetch(root.dataset.spec)).json();
    root.replaceChildren(el("h1", spec.info.title + " " + spec.info.version));
    root.append(el("p", spec.info.description || ""));
    for (const [path, ops] of Object.entries(spec.paths || {})) {
      for (const [method, op] of Object.entries(ops)) {
        const section = el("section");
        const head = el("h2");
        head.append(el("span", method, "method"), el("code", "/api" + path));
        section.append(head, el("p", op.summary || ""));
        const params = (op.parameters || []).map((p) => p.name + " (" + p.in + ")" + (p.description ? ": " + p.description : ""));
        if (params.length) section.append(el("p", "Parameters: " + params.join("; ")));
        const codes = Object.entries(op.responses || {}).map(([code, r]) => code + " " + (r.description || ""));
        section.append(el("p", "Responses: " + codes.join(" · ")));
        if (op.requestBody) section.append(el("pre", JSON.stringify(op.requestBody.content, null, 2)));
        root.append(section);
      }
    }
  } catch (err) {
    root.append(el("p", "Could not load the API description: " + err, "error-text"));
  }
})();
