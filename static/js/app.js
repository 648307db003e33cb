// Progressive enhancement only: every page works without this file.
// Content that htmx loads into #dialog-body opens as a modal dialog.
document.addEventListener("htmx:afterSwap", function (event) {
  if (event.detail && event.detail.target && event.detail.target.id === "dialog-body") {
    var dialog = document.getElementById("dialog");
    if (dialog && !dialog.open && typeof dialog.showModal === "function") {
      dialog.showModal();
    }
  }
});

// User pickers (issue #11, people search): a result picked from /users/search
// fills the picker's text input with the login (and its hidden user_id, if any).
document.addEventListener("click", function (event) {
  var pick = event.target.closest && event.target.closest("[data-pick-id]");
  var picker = pick && pick.closest(".user-picker");
  if (!picker) {
    return;
  }
  var text = picker.querySelector("[data-picker-text]");
  var hidden = picker.querySelector("[data-picker-id]");
  if (text) {
    text.value = pick.getAttribute("data-pick-login");
  }
  if (hidden) {
    hidden.value = pick.getAttribute("data-pick-id");
  }
  var box = picker.querySelector(".picker-results-box");
  if (box) {
    box.innerHTML = "";
  }
});
