// The board's and case page's map, drawn with Leaflet (served from /assets/leaflet/):
// the office's regency from its base map (coast, district names, villages; no tile
// server needed), tiles on top when NOTIFY_MAP_TILE_URL names a server, and the open
// cases (coloured by time left), their warehouses and the deliveries on the road, each
// with a popup linking to the case. Everything here is also listed in the page itself.
"use strict";
(function () {
  const holder = document.getElementById("map");
  if (!holder || typeof L === "undefined") {
    return;
  }
  // Shown only now: without a script the page keeps the list under it instead.
  holder.hidden = false;
  const legend = document.getElementById("map-legend");
  if (legend) {
    legend.hidden = false;
  }
  const list = document.getElementById("map-list");
  if (list) {
    list.open = false;
  }
  const setup = JSON.parse(holder.dataset.map);
  const word = holder.dataset;
  const PLACE_NAMES_FROM_ZOOM = 10.5;
  const colours = {ok: "#2e7d32", warn: "#f0a500", late: "#c62828"};
  // On a phone one finger scrolls the page (two pinch the map); a mouse wheel scrolls too.
  const map = L.map(holder, {zoomSnap: 0.25, scrollWheelZoom: false, dragging: !L.Browser.mobile});
  map.attributionControl.setPrefix(false);
  holder.classList.add(setup.tiles ? "with-tiles" : "without-tiles");
  if (setup.tiles) {
    L.tileLayer(setup.tiles, {maxZoom: 18, attribution: setup.attribution || ""}).addTo(map);
  }

  function text(tag, content, className) {
    const element = document.createElement(tag);
    element.textContent = content;
    if (className) {
      element.className = className;
    }
    return element;
  }

  function popup(title, href, lines) {
    const box = document.createElement("div");
    box.className = "map-popup";
    const link = text("a", title);
    link.href = href;
    box.append(link);
    for (const line of lines) {
      if (line) {
        box.append(text("div", line));
      }
    }
    const open = text("a", word.wordOpen, "open");
    open.href = href;
    box.append(open);
    return box;
  }

  const drawn = [];
  const warehouses = new Map();
  for (const m of setup.markers) {
    if (m.origin && m.site) {
      drawn.push(L.polyline([m.origin, m.site], {color: "#455a64", weight: 2, dashArray: "5 5", interactive: false}).addTo(map));
    }
    if (m.origin) {
      const key = m.origin.join(",");
      const entry = warehouses.get(key) || {at: m.origin, code: m.warehouse, cases: []};
      entry.cases.push(m);
      warehouses.set(key, entry);
    }
    if (m.truck) {
      const truck = L.divIcon({className: "map-truck", iconSize: [14, 14]});
      drawn.push(L.marker(m.truck, {icon: truck, title: word.wordDelivery, zIndexOffset: 500})
        .bindPopup(popup(m.name, m.href, [word.wordDelivery, m.arrival ? `${word.wordArrival}: ${m.arrival}` : ""]))
        .addTo(map));
    }
    if (m.site) {
      const site = L.circleMarker(m.site, {radius: 10, color: "#fff", weight: 2, fillColor: colours[m.state] || colours.ok, fillOpacity: 1, className: `case ${m.state}`})
        .bindPopup(popup(m.name, m.href, [`${word.wordLeft}: ${m.left}`, m.warehouse ? `${word.wordWarehouse} ${m.warehouse}` : ""]))
        .addTo(map);
      drawn.push(site);
    }
  }
  for (const entry of warehouses.values()) {
    const icon = L.divIcon({className: "map-warehouse", iconSize: [16, 16]});
    const first = entry.cases[0];
    const serves = entry.cases.map((m) => m.name).join("; ");
    drawn.push(L.marker(entry.at, {icon, keyboard: true, title: `${word.wordWarehouse} ${entry.code || ""}`})
      .bindPopup(popup(`${word.wordWarehouse} ${entry.code || ""}`, first.href, [`${word.wordServes}: ${serves}`]))
      .addTo(map));
  }

  function fit() {
    if (setup.focus && drawn.length) {
      map.fitBounds(L.featureGroup(drawn).getBounds().pad(0.5), {maxZoom: 12});
    } else if (setup.bbox) {
      const [west, south, east, north] = setup.bbox;
      map.fitBounds([[south, west], [north, east]]);
    } else if (drawn.length) {
      map.fitBounds(L.featureGroup(drawn).getBounds().pad(0.2));
    } else {
      map.setView([-0.5, 117], 7);
    }
  }
  fit();

  // District names that would overlap a more important one are hidden until zoomed in:
  // those with an open case first, then the ones with more villages.
  const withCases = new Set(setup.markers.flatMap((m) => [m.district || "", `${m.village}|${m.district}`].map((key) => key.toLowerCase())).filter(Boolean));
  function declutter(labels) {
    const kept = [];
    for (const {label} of labels) {
      const element = label.getElement();
      if (!element) {
        continue;
      }
      element.classList.remove("crowded");
      const box = element.getBoundingClientRect();
      const clash = kept.some((other) => box.left < other.right + 4 && box.right + 4 > other.left
        && box.top < other.bottom && box.bottom > other.top);
      if (clash) {
        element.classList.add("crowded");
      } else {
        kept.push(box);
      }
    }
  }

  if (!setup.boundary) {
    return;
  }
  fetch(setup.boundary, {credentials: "same-origin"})
    .then((response) => (response.ok ? response.json() : Promise.reject(new Error(String(response.status)))))
    .then((base) => {
      const places = L.layerGroup();
      const districts = L.layerGroup();
      const labels = [];
      const placeNames = L.layerGroup();
      const land = [];
      for (const feature of base.features) {
        const kind = feature.properties.kind;
        if (kind === "land") {
          land.push(feature);
        } else if (kind === "district") {
          const [lon, lat] = feature.geometry.coordinates;
          const label = L.tooltip({permanent: true, direction: "center", className: "district-label", interactive: false})
            .setLatLng([lat, lon]).setContent(text("span", feature.properties.name)).addTo(districts);
          labels.push({label, rank: (withCases.has(feature.properties.name.toLowerCase()) ? 1000 : 0) + (feature.properties.villages || 0)});
        } else if (kind === "place") {
          const [lon, lat] = feature.geometry.coordinates;
          L.circleMarker([lat, lon], {radius: 2.5, weight: 0, fillColor: "#857b6e", fillOpacity: 0.7, className: "place"})
            .bindTooltip(text("span", `${feature.properties.name} (${feature.properties.district})`), {direction: "top", className: "place-label"})
            .addTo(places);
          const name = L.tooltip({permanent: true, direction: "right", offset: [3, 0], className: "place-label", interactive: false})
            .setLatLng([lat, lon]).setContent(text("span", feature.properties.name)).addTo(placeNames);
          const named = withCases.has(`${feature.properties.name}|${feature.properties.district}`.toLowerCase());
          labels.push({label: name, rank: named ? 500 : -1});
        }
      }
      const coast = L.geoJSON({type: "FeatureCollection", features: land}, {
        interactive: false,
        style: {color: "#7f9fb3", weight: 1, fillColor: "#f4f1e8", fillOpacity: setup.tiles ? 0 : 1, className: "land"},
      });
      coast.addTo(map);
      coast.bringToBack();
      places.addTo(map);
      districts.addTo(map);
      for (const layer of drawn) {
        if (layer.bringToFront) {
          layer.bringToFront();
        }
      }
      labels.sort((a, b) => b.rank - a.rank);
      // Village names once zoomed in to a district or closer.
      function relabel() {
        if (map.getZoom() >= PLACE_NAMES_FROM_ZOOM) {
          placeNames.addTo(map);
        } else {
          placeNames.remove();
        }
        declutter(labels);
      }
      relabel();
      map.on("zoomend", relabel);
      holder.dataset.baseMap = "drawn";
    })
    .catch(() => {
      holder.dataset.baseMap = "failed";
    });
})();
