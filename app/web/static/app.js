// Keyboard review: j/k move between the sentences to code (interviewer and short sentences are folded away
// and skipped), a/r accept/reject the focused sentence's first open suggestion, c changes it, n adds a code,
// m writes a memo, o reopens a decided sentence. Buttons stay the mouse path; both go through the same htmx
// posts. The code picker lists codes matching a number or words of their label, synonyms and definition.
(function () {
  "use strict";

  function segments() { return Array.from(document.querySelectorAll("article.seg.codable")); }

  function current() {
    const el = document.activeElement;
    return el && el.closest ? el.closest("article.seg.codable") : null;
  }

  function move(step) {
    const all = segments();
    const here = all.indexOf(current());
    // Past the last sentence to code on this window of turns, j goes on to the next window (k back).
    const beyond = step > 0 ? (here === all.length - 1 || !all.length) : (here === 0 || !all.length);
    const link = document.querySelector(step > 0 ? "a[rel=next]" : "a[rel=prev]");
    if (beyond && link && (here >= 0 || !all.length)) {
      window.location.href = link.href + (step > 0 ? "#first" : "#last");
      return;
    }
    if (!all.length) return;
    const next = all[Math.max(0, Math.min(all.length - 1, here < 0 ? (step > 0 ? 0 : all.length - 1) : here + step))];
    next.focus();
    next.scrollIntoView({block: "nearest"});
  }

  function reopen(seg) {
    seg.classList.remove("collapsed");
    seg.classList.add("reopened");
    seg.focus();
  }

  function firstOpen(seg) { return seg.querySelector("ul.suggestions:not(.near) > li.sug.open") || seg.querySelector("ul.suggestions:not(.near) > li.sug[data-suggestion]"); }

  // ---- the code picker ---------------------------------------------------------------------------------
  // The same rule as app/web/picker.py: 0 the number starts with the entry, 1 every word in the label,
  // 2 in label and synonyms, 3 in label, synonyms and definition; best rank first, then codebook order.
  const SHOWN = 8;
  let codes = null;
  function codeData() {
    if (codes === null) {
      const el = document.getElementById("code-data");
      codes = el ? JSON.parse(el.textContent) : [];
    }
    return codes;
  }
  function words(text) {
    return (text.toLowerCase().match(/[\p{L}\p{N}_.]+/gu) || []).map((w) => w.replace(/^\.+|\.+$/g, "") || w);
  }
  function rank(code, text, ws) {
    if (code.id.toLowerCase().startsWith(text.toLowerCase())) return 0;
    const fields = [code.id + " " + code.label, code.synonyms.join(" "), code.definition];
    for (let r = 1; r <= 3; r++) {
      const hay = fields.slice(0, r).join(" ").toLowerCase();
      if (ws.length && ws.every((w) => hay.includes(w))) return r;
    }
    return null;
  }
  function pickerMatches(text) {
    text = text.trim();
    if (!text) return [];
    const ws = words(text);
    return codeData().map((c, n) => [rank(c, text, ws), n, c]).filter((t) => t[0] !== null)
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]).slice(0, SHOWN).map((t) => t[2]);
  }

  function listFor(input) { return document.getElementById(input.id + "-list"); }

  function closeList(input) {
    const list = listFor(input);
    if (list) list.remove();
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function setActive(input, index) {
    const list = listFor(input);
    if (!list) return;
    const options = Array.from(list.querySelectorAll("[role=option]"));
    options.forEach((o, i) => o.setAttribute("aria-selected", i === index ? "true" : "false"));
    if (options[index]) input.setAttribute("aria-activedescendant", options[index].id);
  }

  function activeIndex(input) {
    const list = listFor(input);
    if (!list) return -1;
    return Array.from(list.querySelectorAll("[role=option]")).findIndex((o) => o.getAttribute("aria-selected") === "true");
  }

  function openList(input) {
    closeList(input);
    const found = pickerMatches(input.value);
    const list = document.createElement("ul");
    list.id = input.id + "-list";
    list.className = "picker-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Codes matching " + input.value.trim());
    found.forEach(function (code, i) {
      const li = document.createElement("li");
      li.id = input.id + "-opt-" + i;
      li.setAttribute("role", "option");
      li.dataset.value = code.id + " " + code.label;
      const strong = document.createElement("strong");
      strong.textContent = code.id;
      li.append(strong, " " + code.label);
      if (code.group) {
        const group = document.createElement("span");
        group.className = "muted";
        group.textContent = " · " + code.group;
        li.append(group);
      }
      list.append(li);
    });
    if (!found.length) {
      const li = document.createElement("li");
      li.className = "muted";
      li.textContent = "No code matches: try a number or other words.";
      list.append(li);
    }
    input.insertAdjacentElement("afterend", list);
    input.setAttribute("aria-expanded", "true");
    input.setAttribute("aria-controls", list.id);
    if (found.length) setActive(input, 0);
  }

  function choose(input, option) {
    input.value = option.dataset.value;
    closeList(input);
    input.focus();
  }

  document.addEventListener("input", function (event) {
    const box = event.target;
    if (box.matches && box.matches("input[data-picker]")) {
      if (box.value.trim()) openList(box); else closeList(box);
      return;
    }
    // The codebook browser's search box hides the codes that do not match.
    if (!box.dataset || !box.dataset.filter) return;
    const ws = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    document.querySelectorAll(box.dataset.filter).forEach(function (el) {
      const text = el.textContent.toLowerCase();
      el.hidden = !ws.every((w) => text.includes(w));
    });
  });

  document.addEventListener("mousedown", function (event) {
    const option = event.target.closest && event.target.closest(".picker-list [role=option]");
    if (!option) return;
    event.preventDefault();  // keep the focus in the input
    choose(option.parentElement.previousElementSibling, option);
  });

  document.addEventListener("focusout", function (event) {
    const input = event.target;
    if (input.matches && input.matches("input[data-picker]")) setTimeout(() => closeList(input), 150);
  });

  function pickerKey(event, input) {
    const list = listFor(input);
    const count = list ? list.querySelectorAll("[role=option]").length : 0;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!list) { openList(input); event.preventDefault(); return true; }
      const at = activeIndex(input);
      setActive(input, (at + (event.key === "ArrowDown" ? 1 : count - 1)) % Math.max(count, 1));
      event.preventDefault();
      return true;
    }
    if (event.key === "Enter" && list && count) {
      // Enter takes the highlighted code into the box; a second Enter sends it.
      const option = list.querySelectorAll("[role=option]")[Math.max(activeIndex(input), 0)];
      event.preventDefault();
      choose(input, option);
      return true;
    }
    if (event.key === "Escape" && list) { closeList(input); event.preventDefault(); return true; }
    return false;
  }

  // ---- keys --------------------------------------------------------------------------------------------
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.matches && target.matches("input[data-picker]") && pickerKey(event, target)) return;
    if (target.matches && target.matches("input, select, textarea")) {
      if (event.key === "Escape") { const seg = target.closest("article.seg"); if (seg) seg.focus(); }
      return;
    }
    if (target.matches && target.matches("button, a, summary") && event.key === "Enter") return;
    const seg = current();
    const collapsed = seg && seg.classList.contains("collapsed");
    if (collapsed && ("arx".includes(event.key) || event.key === "Enter")) {
      event.preventDefault();
      reopen(seg);  // a decided sentence opens first: the coder sees what a, r or x would act on
      return;
    }
    if (collapsed && "ncmo".includes(event.key)) reopen(seg);  // then straight into its box: typed words go there
    const sug = seg ? firstOpen(seg) : null;
    const focusIn = (selector) => { const el = seg && seg.querySelector(selector); if (el) el.focus(); };
    const actions = {
      j: () => move(1),
      k: () => move(-1),
      a: () => sug && sug.querySelector("button.accept:not([disabled])") && sug.querySelector("button.accept").click(),
      r: () => sug && sug.querySelector("button.reject:not([disabled])") && sug.querySelector("button.reject").click(),
      c: () => {
        const box = sug && sug.querySelector("details.change");
        if (box) { box.open = true; box.querySelector("input[name=code]").focus(); }
      },
      n: () => focusIn("form.add input[name=code]"),
      m: () => {
        const box = seg && seg.querySelector("details.memo");
        if (box) { box.open = true; focusIn("textarea[name=memo]"); }
      },
      o: () => seg && reopen(seg),
      x: () => { const none = seg && seg.querySelector("button.no-code:not([disabled])"); if (none) none.click(); },
    };
    if (actions[event.key]) {
      event.preventDefault();
      actions[event.key]();
    }
  });

  document.addEventListener("click", function (event) {
    const button = event.target.closest && event.target.closest("button.reopen");
    if (button) reopen(button.closest("article.seg"));
    // One button opens (or folds again) every folded run of interviewer and short sentences on the page.
    const unfold = event.target.closest && event.target.closest("#unfold");
    if (unfold) {
      const open = unfold.getAttribute("aria-pressed") !== "true";
      document.querySelectorAll("details.fold").forEach((d) => { d.open = open; });
      unfold.setAttribute("aria-pressed", open ? "true" : "false");
      unfold.textContent = open ? "Fold them again" : "Show folded sentences";
    }
  });

  // A decision on a sentence the coder reopened keeps it open (they may have more to decide there).
  document.addEventListener("htmx:configRequest", function (event) {
    const seg = event.detail.elt.closest && event.detail.elt.closest("article.seg");
    if (seg && seg.classList.contains("reopened")) event.detail.parameters.keep_open = "true";
  });

  // Arriving from the window before (j) or after (k): the focus goes to its first or last sentence to code.
  document.addEventListener("DOMContentLoaded", function () {
    const all = segments();
    const at = window.location.hash === "#first" ? all[0] : window.location.hash === "#last" ? all[all.length - 1] : null;
    if (at) { at.focus(); at.scrollIntoView({block: "center"}); }
  });

  // After a decision the sentence is re-rendered: keep the keyboard focus on it.
  document.addEventListener("htmx:afterSwap", function (event) {
    const seg = event.detail.target && document.getElementById(event.detail.target.id);
    if (seg && seg.matches("article.seg")) seg.focus();
  });
})();
