# Hyper-parameter exploration for the C# ViT trainer (issue 6), on a lent GPU: mirrors VitTrainer
# (pre-LN ViT, CLS head, trunc-normal 0.02 init, AdamW wd on matrices, clip 1, warm-up 1 epoch + cosine
# to 1e-5, flip + optional crop, batch 128). Only used to choose the C# run's sizes; not part of RepShift.
import gzip, json, math, os, sys, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F

def idx(path):
    with gzip.open(path) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)

class Block(nn.Module):
    def __init__(s, h, heads, mlp):
        super().__init__()
        s.n1, s.n2 = nn.LayerNorm(h, eps=1e-12), nn.LayerNorm(h, eps=1e-12)
        s.qkv, s.proj = nn.Linear(h, 3 * h), nn.Linear(h, h)
        s.fc1, s.fc2 = nn.Linear(h, mlp), nn.Linear(mlp, h)
        s.heads = heads
    def forward(s, x):
        b, n, h = x.shape
        q, k, v = s.qkv(s.n1(x)).view(b, n, 3, s.heads, h // s.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, h)
        x = x + s.proj(a)
        return x + s.fc2(F.gelu(s.fc1(s.n2(x))))

class ViT(nn.Module):
    def __init__(s, h, layers, heads, ratio, patch):
        super().__init__()
        s.patch = patch
        n = (28 // patch) ** 2
        s.embed = nn.Linear(patch * patch, h)
        s.cls = nn.Parameter(torch.zeros(1, 1, h)); s.pos = nn.Parameter(torch.zeros(1, n + 1, h))
        s.blocks = nn.ModuleList([Block(h, heads, h * ratio) for _ in range(layers)])
        s.norm = nn.LayerNorm(h, eps=1e-12); s.head = nn.Linear(h, 10)
        for name, p in s.named_parameters():
            if name.endswith('bias'): nn.init.zeros_(p)
            elif p.dim() == 1: nn.init.ones_(p)
            else: nn.init.trunc_normal_(p, std=0.02, a=-0.04, b=0.04)
    def forward(s, x):
        b, p = x.shape[0], s.patch
        x = x.view(b, 28 // p, p, 28 // p, p).permute(0, 1, 3, 2, 4).reshape(b, -1, p * p)
        x = torch.cat([s.cls.expand(b, -1, -1), s.embed(x)], 1) + s.pos
        for blk in s.blocks: x = blk(x)
        return s.head(s.norm(x)[:, 0])

def run(cfg, out):
    torch.set_num_threads(1)  # many runs share the CPU cores
    torch.manual_seed(cfg.get('seed', 1))
    dev = 'cuda'
    d = cfg['data']
    xtr = torch.tensor(idx(d + '/train-images-idx3-ubyte.gz'), dtype=torch.float32, device=dev) / 255
    ytr = torch.tensor(idx(d + '/train-labels-idx1-ubyte.gz'), dtype=torch.long, device=dev)
    xte = torch.tensor(idx(d + '/t10k-images-idx3-ubyte.gz'), dtype=torch.float32, device=dev) / 255
    yte = torch.tensor(idx(d + '/t10k-labels-idx1-ubyte.gz'), dtype=torch.long, device=dev)
    mean, std = xtr.mean(), xtr.std()
    norm = lambda x: (x - mean) / std
    m = ViT(cfg['h'], cfg['l'], cfg.get('heads', 4), cfg.get('r', 2), cfg.get('patch', 4)).to(dev)
    decay = [p for n, p in m.named_parameters() if p.dim() > 1 and n not in ('cls', 'pos')]
    rest = [p for n, p in m.named_parameters() if not (p.dim() > 1 and n not in ('cls', 'pos'))]
    lr, E, B = cfg.get('lr', 2e-3), cfg['e'], cfg.get('b', 128)
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': cfg.get('wd', 0.05)}, {'params': rest, 'weight_decay': 0}], lr=lr, eps=1e-8)
    spe = (60000 + B - 1) // B; total = spe * E; warm = int(spe * cfg.get('warm', 1))
    sched = lambda s: lr * (s + 1) / warm if s < warm else 1e-5 + (lr - 1e-5) * 0.5 * (1 + math.cos(math.pi * min(1, (s - warm) / max(1, total - warm))))
    pad = cfg.get('crop', 0); step = 0; t0 = time.time()
    for ep in range(E):
        m.train(); perm = torch.randperm(60000, device=dev); correct = 0
        for i in range(0, 60000, B):
            j = perm[i:i + B]; x = xtr[j]; y = ytr[j]
            flip = torch.rand(len(j), device=dev) < 0.5
            x = torch.where(flip[:, None, None], x.flip(2), x)
            if pad:
                xp = F.pad(x, (pad, pad, pad, pad))
                oy = torch.randint(0, 2 * pad + 1, (len(j),), device=dev); ox = torch.randint(0, 2 * pad + 1, (len(j),), device=dev)
                ar = torch.arange(28, device=dev)
                x = xp[torch.arange(len(j), device=dev)[:, None, None], (oy[:, None] + ar)[:, :, None], (ox[:, None] + ar)[:, None, :]]
            for g in opt.param_groups: g['lr'] = sched(step)
            logits = m(norm(x)); loss = F.cross_entropy(logits, y, label_smoothing=cfg.get('ls', 0.0))
            opt.zero_grad(set_to_none=True); loss.backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step(); step += 1
            correct += (logits.argmax(1) == y).sum().item() if i % (B * 50) == 0 else 0
        m.eval()
        with torch.no_grad():
            te = sum((m(norm(xte[k:k + 1000])).argmax(1) == yte[k:k + 1000]).sum().item() for k in range(0, 10000, 1000)) / 10000
            tr = sum((m(norm(xtr[k:k + 1000])).argmax(1) == ytr[k:k + 1000]).sum().item() for k in range(0, 60000, 1000)) / 60000
        with open(out, 'a') as f:
            f.write(json.dumps({'name': cfg['name'], 'epoch': ep + 1, 'of': E, 'test': te, 'train': tr, 'sec': round(time.time() - t0, 1)}) + '\n')

if __name__ == '__main__':
    cfg = json.loads(sys.argv[1]); run(cfg, sys.argv[2])
