// A minimal Node.js function with its own Runtime API client (node:http only): the reference
// point for a Node Lambda's cold start in scripts/bench. It polls for an event, answers it, repeats.
import http from "node:http";

const api = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/`;

const handler = async (event) => ({ ok: true, echo: event });

function request(method, url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

for (;;) {
  const next = await request("GET", api + "next");
  const id = next.headers["lambda-runtime-aws-request-id"];
  const result = await handler(JSON.parse(next.body));
  await request("POST", `${api}${id}/response`, JSON.stringify(result));
}
