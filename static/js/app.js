// Ankara's only script besides htmx: the payer page's print link. Kept in a
// file so that the Content-Security-Policy can forbid inline script.
document.documentElement.classList.add("js");
document.addEventListener("click", function (e) {
  var a = e.target.closest("[data-print]");
  if (a) {
    e.preventDefault();
    window.print();
  }
});
