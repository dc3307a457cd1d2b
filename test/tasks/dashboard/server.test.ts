import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { startDashboardServer, type DashboardServer } from "../../../tasks/dashboard/server.js";
import { startFixedServer, type FixedServer } from "../../fixtures/fixed-server.js";

const PROVIDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const UNLISTED = `0x${"12".repeat(20)}`;

describe("tasks/dashboard/server: the proxy to providers' registered relayers", function () {
  let relayer: FixedServer;
  let server: DashboardServer;
  let dist: string;

  before(async function () {
    relayer = await startFixedServer();
    dist = await mkdtemp(path.join(tmpdir(), "aitbc-dash-dist-"));
    await writeFile(path.join(dist, "index.html"), "<!doctype html><title>t</title>");
    server = await startDashboardServer({
      dist,
      port: 0,
      rpcUrl: "http://127.0.0.1:9",
      config: async () => ({}),
      serviceUrlOf: async (provider) => (provider.toLowerCase() === PROVIDER.toLowerCase() ? `${relayer.url}/base` : null),
    });
  });

  after(async function () {
    await server.close();
    await relayer.close();
    await rm(dist, { recursive: true, force: true });
  });

  it("passes the four client routes to the URL the provider registered, with the result's headers", async function () {
    relayer.json("/base/api/v1/offer", { version: 1 });
    relayer.json("/base/api/v1/jobs/7", { job_id: "7" });
    relayer.routes.set("/base/api/v1/jobs/7/result", { body: new Uint8Array([0xff, 1, 2]), headers: { "content-type": "application/vnd.aitbc.envelope", "x-result-hash": "0xabc" } });
    relayer.json(`/base/api/v1/receipts/0x${"ab".repeat(32)}`, { receipt_id: "r" });
    expect(await (await fetch(`${server.url}providers/${PROVIDER}/api/v1/offer`)).json()).to.deep.equal({ version: 1 });
    expect(await (await fetch(`${server.url}providers/${PROVIDER}/api/v1/jobs/7`)).json()).to.deep.equal({ job_id: "7" });
    const result = await fetch(`${server.url}providers/${PROVIDER}/api/v1/jobs/7/result`);
    expect(result.headers.get("content-type")).to.equal("application/vnd.aitbc.envelope");
    expect(result.headers.get("x-result-hash")).to.equal("0xabc");
    expect([...new Uint8Array(await result.arrayBuffer())]).to.deep.equal([0xff, 1, 2]);
    expect((await fetch(`${server.url}providers/${PROVIDER}/api/v1/receipts/0x${"ab".repeat(32)}`)).status).to.equal(200);
  });

  it("refuses everything else: other paths, queries, writes, and providers without an endpoint", async function () {
    const before = relayer.requests.length;
    const code = async (url: string, init?: RequestInit) => {
      const res = await fetch(url, init);
      return [res.status, ((await res.json()) as { error: { code: string } }).error.code];
    };
    expect(await code(`${server.url}providers/${PROVIDER}/metrics`)).to.deep.equal([404, "HTTP_ROUTE_NOT_FOUND"]);
    expect(await code(`${server.url}providers/${PROVIDER}/api/v1/jobs/7%2Fresult`)).to.deep.equal([404, "HTTP_ROUTE_NOT_FOUND"]);
    expect(await code(`${server.url}providers/${PROVIDER}/api/v1/receipts?client=${PROVIDER}`)).to.deep.equal([404, "HTTP_ROUTE_NOT_FOUND"]);
    expect(await code(`${server.url}providers/${PROVIDER}/api/v1/offer`, { method: "POST", body: "{}" })).to.deep.equal([405, "METHOD_NOT_ALLOWED"]);
    expect(await code(`${server.url}providers/${UNLISTED}/api/v1/offer`)).to.deep.equal([404, "NO_ENDPOINT"]);
    expect(relayer.requests.length, "nothing reached the relayer").to.equal(before);
  });
});
