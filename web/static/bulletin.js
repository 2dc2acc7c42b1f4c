/* Live turnout on the bulletin: follows the server-sent events of the meeting. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("bulletin-data").textContent);
  if (!window.EventSource) return;
  var source = new EventSource(data.stream);
  source.addEventListener("turnout", function (event) {
    var figures = JSON.parse(event.data), table = document.getElementById("turnout");
    document.getElementById("ballots").textContent = String(figures.ballots);
    figures.scopes.forEach(function (scope, i) {
      var row = table.rows[i + 1];
      if (!row) return;
      row.cells[1].textContent = scope.voted_heads + " / " + scope.total_heads;
      row.cells[2].textContent = scope.voted_area + " / " + scope.total_area + " m²";
    });
  });
})();
