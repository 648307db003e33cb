// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // ---- dialog -------------------------------------------------------------
  // Content that htmx loads into #dialog-body opens as a modal dialog. Its forms
  // post through htmx into the dialog: errors (422) show there, with the input kept;
  // a successful post (a redirect) leaves for the page it leads to.
  function enhanceDialogForms(body, select) {
    body.querySelectorAll("form[method=post], form[method=POST]").forEach(function (form) {
      if (form.hasAttribute("hx-post")) return;
      form.setAttribute("hx-post", form.getAttribute("action") || window.location.pathname);
      form.setAttribute("hx-target", "#dialog-body");
      form.setAttribute("hx-swap", "innerHTML");
      if (select) form.setAttribute("hx-select", select);
      if (window.htmx) window.htmx.process(form);
    });
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var d = event.detail;
    if (!d || !d.target || d.target.id !== "dialog-body" || !d.xhr) return;
    var asked = d.requestConfig && d.requestConfig.path;
    var landed = d.xhr.responseURL ? new URL(d.xhr.responseURL) : null;
    if (landed && asked && d.requestConfig.verb !== "get" &&
        landed.pathname !== new URL(asked, window.location.href).pathname) {
      // The post succeeded and was redirected: show that page whole.
      d.shouldSwap = false;
      window.location.assign(landed.href);
      return;
    }
    if (d.xhr.status === 422 || d.xhr.status === 409 || d.xhr.status === 429) {
      d.shouldSwap = true;
      d.isError = false;
    }
  });

  // A form posted into the page's main area (the Tenants list's bulk bar) shows its
  // refusal (422: the list again with the bar's messages) as it would without htmx.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var d = event.detail;
    if (d && d.target && d.target.id === "main" && d.xhr && d.xhr.status === 422) {
      d.shouldSwap = true;
      d.isError = false;
    }
  });

  // ---- Tenants list: "select all on this page" --------------------------------
  // Only with JavaScript (the checkbox stays hidden without it): it ticks or clears
  // every row's checkbox of the bulk bar.
  function revealScripted(root) {
    (root || document).querySelectorAll("[data-needs-js][hidden]").forEach(function (el) {
      el.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { revealScripted(document); });
  document.addEventListener("htmx:afterSwap", function (event) {
    revealScripted(event.detail && event.detail.target);
  });
  document.addEventListener("change", function (event) {
    var all = event.target;
    if (!all || all.id !== "bulk-select-page") return;
    document.querySelectorAll("input[type=checkbox][name=ids][form=tenant-bulk]").forEach(function (box) {
      box.checked = all.checked;
    });
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target) return;
    if (target.id === "dialog-body") {
      var dialog = document.getElementById("dialog");
      var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
      if (elt && elt.getAttribute("hx-select")) dialog.dataset.select = elt.getAttribute("hx-select");
      enhanceDialogForms(target, dialog.dataset.select);
      if (dialog && !dialog.open && typeof dialog.showModal === "function") {
        dialog.showModal();
      }
      var invalid = target.querySelector("[aria-invalid=true]");
      if (invalid) invalid.focus();
    }
    if (target.id && target.id.indexOf("children-") === 0) {
      setExpanded(document.getElementById("toggle-" + target.id.slice(9)), true);
    }
    var combo = document.querySelector("[role=combobox][aria-controls='" + target.id + "']");
    if (combo) enhanceResults(combo, target);
  });

  // ---- tenant tree: expanded nodes collapse ---------------------------------
  function setExpanded(toggle, open) {
    if (!toggle) return;
    var name = (toggle.getAttribute("aria-label") || "").replace(/^(Expand|Collapse) /, "");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    toggle.setAttribute("aria-label", (open ? "Collapse " : "Expand ") + name);
  }

  // Capture phase: a click on an expanded node's toggle collapses it before htmx
  // would load its children again.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest(".tree-toggle[aria-expanded=true]");
    if (!toggle) return;
    event.preventDefault();
    event.stopPropagation();
    var children = document.getElementById(toggle.getAttribute("aria-controls"));
    if (children) children.innerHTML = "";
    setExpanded(toggle, false);
  }, true);

  // ---- comboboxes: the switcher's and the pickers' results ------------------
  // An input with role=combobox shows its matches in the element it controls: a list
  // marked data-listbox whose options are the elements marked data-option (the
  // switcher's Switch buttons, the pickers' matches). Arrow keys move through them,
  // Enter takes the chosen one (a click: the switcher switches, a picker picks),
  // Escape closes the list. Without JavaScript each option is a plain button.
  function options(list) {
    return Array.prototype.slice.call(list.querySelectorAll("[role=option]"));
  }

  function enhanceResults(input, container) {
    var list = container.querySelector("[data-listbox]");
    input.removeAttribute("aria-activedescendant");
    input.setAttribute("aria-expanded", list ? "true" : "false");
    if (!list) return;
    list.setAttribute("role", "listbox");
    list.id = container.id + "-listbox";
    list.querySelectorAll("li").forEach(function (item) {
      item.setAttribute("role", "none");
    });
    list.querySelectorAll("[data-option]").forEach(function (option) {
      option.setAttribute("role", "option");
      option.id = container.id + "-option-" + option.getAttribute("data-option");
      option.setAttribute("aria-selected", "false");
      option.tabIndex = -1;
      var label = option.getAttribute("data-option-label");
      if (label) option.setAttribute("aria-label", label);
    });
  }

  function collapse(input, container) {
    if (container) container.innerHTML = "";
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function choose(option) {
    if (option) option.click();
  }

  function move(input, list, step) {
    var all = options(list);
    if (!all.length) return;
    var current = all.findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
    var next = current < 0 ? (step > 0 ? 0 : all.length - 1) : (current + step + all.length) % all.length;
    all.forEach(function (o, i) { o.setAttribute("aria-selected", i === next ? "true" : "false"); });
    input.setAttribute("aria-activedescendant", all[next].id);
    all[next].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[role=combobox]")) return;
    var container = document.getElementById(input.getAttribute("aria-controls"));
    var list = container && container.querySelector("[role=listbox]");
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!list) return;
      event.preventDefault();
      move(input, list, event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Enter") {
      var active = input.getAttribute("aria-activedescendant");
      if (!active) return; // no choice yet: the form submits as without JS
      event.preventDefault();
      choose(document.getElementById(active));
    } else if (event.key === "Escape" && (list || input.id === "switcher-q")) {
      collapse(input, container);
    }
  });

  // Results rendered with the page (/switch?q=…) get the same keyboard.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[role=combobox]").forEach(function (input) {
      var container = document.getElementById(input.getAttribute("aria-controls"));
      if (container) enhanceResults(input, container);
    });
  });

  // Pickers (templates/components/_picker.html): a match picked (clicked, or Enter
  // on the chosen one) fills the picker's text input with its text and, in a picker
  // that takes one (data-picker-ids names the field), the hidden id field (made here
  // when the server rendered choices instead, which a pick replaces). Typing again
  // forgets the pick.
  document.addEventListener("click", function (event) {
    var pick = event.target.closest && event.target.closest("[data-pick-id]");
    var picker = pick && pick.closest(".picker");
    if (!picker) {
      return;
    }
    var text = picker.querySelector("[data-picker-text]");
    if (text) {
      text.value = pick.getAttribute("data-pick-text");
    }
    var field = picker.getAttribute("data-picker-ids");
    if (field) {
      var hidden = picker.querySelector("[data-picker-id]");
      if (!hidden) {
        hidden = document.createElement("input");
        hidden.type = "hidden";
        hidden.name = field;
        hidden.setAttribute("data-picker-id", "");
        picker.appendChild(hidden);
      }
      hidden.value = pick.getAttribute("data-pick-id");
    }
    if (text) {
      // A search typed before the pick may still answer: its matches stay away
      // until the text is typed again (htmx:beforeSwap below).
      picker.setAttribute("data-picked", text.value);
      collapse(text, picker.querySelector(".picker-results-box"));
      text.focus();
    }
  });

  // A picker's search answer is shown only for the text the input holds now, and
  // not at all after a pick of that text: late answers are dropped.
  document.addEventListener("htmx:beforeSwap", function (event) {
    // Fired on the results box; the request's element is the input.
    var input = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (!input || !input.matches || !input.matches("[data-picker-text]")) return;
    var picker = input.closest(".picker");
    var asked = event.detail.requestConfig && event.detail.requestConfig.parameters
      ? event.detail.requestConfig.parameters[input.name]
      : undefined;
    var stale = typeof asked === "string" && asked !== input.value;
    if (stale || (picker && picker.getAttribute("data-picked") === input.value)) {
      event.detail.shouldSwap = false;
    }
  });

  document.addEventListener("input", function (event) {
    var text = event.target;
    if (!text.matches || !text.matches("[data-picker-text]")) return;
    var picker = text.closest(".picker");
    picker.removeAttribute("data-picked");
    var hidden = picker.querySelector("[data-picker-id]");
    if (hidden) {
      hidden.value = "";
    }
  });
})();
