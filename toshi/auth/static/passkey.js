// Signing in with a passkey on Toshi's sign-in page (toshi/auth/passkey_web.py): the button shows only
// where the browser has WebAuthn with its JSON helpers; a failure leaves the password form as it was.
(() => {
  const button = document.getElementById("passkey");
  const failure = document.getElementById("passkey-error");
  if (!button || !window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) return;
  const form = button.closest("form");
  const field = (name) => form.querySelector(`input[name="${name}"]`).value;
  button.hidden = false;
  button.addEventListener("click", async () => {
    failure.hidden = true;
    try {
      const options = await fetch("/oidc/authorize/passkey/options", { method: "POST" });
      if (!options.ok) throw new Error(`options: ${options.status}`);
      const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(await options.json());
      const credential = await navigator.credentials.get({ publicKey });
      const answer = await fetch("/oidc/authorize/passkey", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ request: field("request"), csrf: field("csrf"), credential: credential.toJSON() }),
      });
      if (!answer.ok) throw new Error(`sign-in: ${answer.status}`);
      window.location.assign((await answer.json()).redirect);
    } catch (error) {
      failure.hidden = false;
    }
  });
})();
