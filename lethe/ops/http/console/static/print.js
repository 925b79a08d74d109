// The receipt's print button; a file of its own, since the console's
// Content-Security-Policy allows no inline script.
document.getElementById("print").addEventListener("click", () => window.print());
