(function () {
  // Shows the metrics of the chosen group and classification; no network, no libraries.
  var group = document.getElementById("f-group");
  var cls = document.getElementById("f-class");
  var count = document.getElementById("f-count");
  if (!group || !cls) { return; }
  function apply() {
    var shown = 0;
    var all = document.querySelectorAll("article.metric");
    for (var i = 0; i < all.length; i++) {
      var m = all[i];
      var g = group.value === "" || m.getAttribute("data-groups").indexOf(" " + group.value + " ") >= 0;
      var c = cls.value === "" ||
        (cls.value === "failing" && m.getAttribute("data-failing") === "true") ||
        (cls.value === "muted" && m.getAttribute("data-muted") === "true") ||
        m.getAttribute("data-classification") === cls.value;
      m.hidden = !(g && c);
      if (g && c) { shown++; }
    }
    count.textContent = shown + " shown";
  }
  group.addEventListener("change", apply);
  cls.addEventListener("change", apply);
  apply();
})();
