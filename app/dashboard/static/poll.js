// Refresh the element marked data-poll every 2 s with the fragment it names;
// stop once the server says the request is final (X-Final: 1).
(function () {
  var el = document.querySelector("[data-poll]");
  if (!el || el.dataset.final === "1") return;
  function tick() {
    fetch(el.dataset.poll, {credentials: "same-origin"}).then(function (resp) {
      if (!resp.ok) return;
      var final = resp.headers.get("X-Final") === "1";
      return resp.text().then(function (html) {
        el.innerHTML = html;
        if (!final) setTimeout(tick, 2000);
      });
    }).catch(function () { setTimeout(tick, 2000); });
  }
  setTimeout(tick, 2000);
})();
