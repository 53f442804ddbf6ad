// The storefront's settings, from /config.json (written per stage by the deploy and
// served by the local stack): API base URL, Cognito endpoint, region, pool and client.

const REQUIRED = ["apiBaseUrl", "cognitoEndpoint", "region", "userPoolId", "clientId"];
let loaded = null;

export function loadConfig() {
  if (!loaded) {
    loaded = fetch("/config.json", { cache: "no-store" })
      .then(async (response) => {
        if (!response.ok) throw new Error(`the store's settings could not be loaded (HTTP ${response.status})`);
        const config = await response.json();
        const missing = REQUIRED.filter((key) => typeof config[key] !== "string" || !config[key]);
        if (missing.length) throw new Error(`the store's settings are incomplete: ${missing.join(", ")}`);
        config.apiBaseUrl = config.apiBaseUrl.replace(/\/+$/, "");
        return Object.freeze(config);
      })
      .catch((error) => {
        loaded = null; // let the next attempt try again
        throw error;
      });
  }
  return loaded;
}
