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
