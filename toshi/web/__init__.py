"""The pages people see: the resident portal (/portal), the operations dashboard (/dashboard) with
its disaster HQ view (/dashboard/hq), and the admin console (/admin/console). Server-rendered
shells whose scripts read everything through the public HTTP APIs, with the browser's session, so
every rule of the read path applies to what a page shows. docs/web.md describes them."""
