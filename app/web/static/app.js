// Keyboard review: j/k move between sentences, a/r accept/reject the focused sentence's first open
// suggestion, c changes it, n adds a code. Buttons stay the mouse path; both go through the same htmx posts.
(function () {
  "use strict";

  function segments() { return Array.from(document.querySelectorAll("article.seg")); }

  function current() {
    const el = document.activeElement;
    return el && el.closest ? el.closest("article.seg") : null;
  }

  function move(step) {
    const all = segments();
    if (!all.length) return;
    const here = all.indexOf(current());
    const next = all[Math.max(0, Math.min(all.length - 1, here < 0 ? 0 : here + step))];
    next.focus();
    next.scrollIntoView({block: "nearest"});
  }

  function firstOpen(seg) { return seg.querySelector("li.sug.open") || seg.querySelector("li.sug[data-suggestion]"); }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.matches && target.matches("input, select, textarea")) {
      if (event.key === "Escape") { const seg = target.closest("article.seg"); if (seg) seg.focus(); }
      return;
    }
    const seg = current();
    const sug = seg ? firstOpen(seg) : null;
    const actions = {
      j: () => move(1),
      k: () => move(-1),
      a: () => sug && sug.querySelector("button.accept:not([disabled])") && sug.querySelector("button.accept").click(),
      r: () => sug && sug.querySelector("button.reject:not([disabled])") && sug.querySelector("button.reject").click(),
      c: () => {
        const box = sug && sug.querySelector("details.change");
        if (box) { box.open = true; box.querySelector("input[name=code]").focus(); }
      },
      n: () => seg && seg.querySelector("form.add input[name=code]") && seg.querySelector("form.add input[name=code]").focus(),
    };
    if (actions[event.key]) {
      event.preventDefault();
      actions[event.key]();
    }
  });

  // After a decision the sentence is re-rendered: keep the keyboard focus on it.
  document.addEventListener("htmx:afterSwap", function (event) {
    const seg = event.detail.target && document.getElementById(event.detail.target.id);
    if (seg && seg.matches("article.seg")) seg.focus();
  });

  // The codebook browser's search box hides the codes that do not match.
  document.addEventListener("input", function (event) {
    const box = event.target;
    if (!box.dataset || !box.dataset.filter) return;
    const words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    document.querySelectorAll(box.dataset.filter).forEach(function (el) {
      const text = el.textContent.toLowerCase();
      el.hidden = !words.every((w) => text.includes(w));
    });
  });
})();
