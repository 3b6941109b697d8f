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
  const setup = JSON.parse(holder.dataset.map);
  const word = holder.dataset;
  const colours = {ok: "#2e7d32", warn: "#b26a00", late: "#c62828"};
  const map = L.map(holder, {zoomSnap: 0.25, scrollWheelZoom: false, attributionControl: true});
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
      drawn.push(L.circleMarker(m.truck, {radius: 8, color: "#fff", weight: 2, fillColor: "#ef6c00", fillOpacity: 1})
        .bindPopup(popup(m.name, m.href, [word.wordDelivery, m.arrival ? `${word.wordArrival}: ${m.arrival}` : ""]))
        .addTo(map));
    }
    if (m.site) {
      drawn.push(L.circleMarker(m.site, {radius: 10, color: "#fff", weight: 2, fillColor: colours[m.state] || colours.ok, fillOpacity: 1, className: `case ${m.state}`})
        .bindPopup(popup(m.name, m.href, [`${word.wordLeft}: ${m.left}`, m.warehouse ? `${word.wordWarehouse} ${m.warehouse}` : ""]))
        .bindTooltip(text("span", m.name))
        .addTo(map));
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
    if (setup.bbox) {
      const [west, south, east, north] = setup.bbox;
      map.fitBounds([[south, west], [north, east]]);
    } else if (drawn.length) {
      map.fitBounds(L.featureGroup(drawn).getBounds().pad(0.2));
    } else {
      map.setView([-0.5, 117], 7);
    }
  }
  fit();

  if (!setup.boundary) {
    return;
  }
  fetch(setup.boundary, {credentials: "same-origin"})
    .then((response) => (response.ok ? response.json() : Promise.reject(new Error(String(response.status)))))
    .then((base) => {
      const places = L.layerGroup();
      const districts = L.layerGroup();
      const land = [];
      for (const feature of base.features) {
        const kind = feature.properties.kind;
        if (kind === "land") {
          land.push(feature);
        } else if (kind === "district") {
          const [lon, lat] = feature.geometry.coordinates;
          L.tooltip({permanent: true, direction: "center", className: "district-label", interactive: false})
            .setLatLng([lat, lon]).setContent(text("span", feature.properties.name)).addTo(districts);
        } else if (kind === "place") {
          const [lon, lat] = feature.geometry.coordinates;
          L.circleMarker([lat, lon], {radius: 2.5, weight: 0, fillColor: "#6d5d4b", fillOpacity: 0.8, className: "place"})
            .bindTooltip(text("span", `${feature.properties.name} (${feature.properties.district})`), {direction: "top", className: "place-label"})
            .addTo(places);
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
      holder.dataset.baseMap = "drawn";
    })
    .catch(() => {
      holder.dataset.baseMap = "failed";
    });
})();
