// Spindle's UI: hovering a task in the timeline highlights the other tasks of its
// stage. No libraries, nothing fetched.
document.addEventListener("mouseover", function (e) {
  var t = e.target;
  if (!t.classList || !t.classList.contains("task")) return;
  var stage = t.getAttribute("data-stage");
  document.querySelectorAll("svg .task").forEach(function (r) {
    r.classList.toggle("hl", r.getAttribute("data-stage") === stage);
  });
});
document.addEventListener("mouseout", function (e) {
  if (e.target.classList && e.target.classList.contains("task")) {
    document.querySelectorAll("svg .task.hl").forEach(function (r) { r.classList.remove("hl"); });
  }
});
